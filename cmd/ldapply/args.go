package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"
)

// The command line as people type it: urfave/cli, like Go's flag
// package, stops reading flags at the first argument that is not one,
// so `ldapply apply x.plan --parallelism 3` would fail. intermix moves
// the flags ahead of the arguments first; "--" still ends the flags.

// intermix returns args (args[0] is the program) with each command's
// flags moved before its positional arguments, or an error naming an
// unknown command.
func intermix(app *cli.App, args []string) ([]string, error) {
	// The shell's completion asks with a last flag, and reads the word
	// before it: such a call is left as it is.
	if len(args) < 2 || args[len(args)-1] == "--generate-bash-completion" {
		return args, nil
	}
	out := []string{args[0]}
	i := 1
	// Global flags (--help, --version) come first; leave them as they are.
	for i < len(args) && strings.HasPrefix(args[i], "-") {
		out = append(out, args[i])
		i++
	}
	cmds := app.Commands
	var cmd *cli.Command
	for i < len(args) {
		next := findCommand(cmds, args[i])
		if next == nil {
			break
		}
		cmd, cmds = next, next.Subcommands
		out = append(out, args[i])
		i++
	}
	switch {
	case i == len(args):
		return out, nil
	case cmd == nil && !strings.HasPrefix(args[i], "-") && args[i] != "help":
		return nil, unknownCommand(app.Commands, "", args[i])
	case cmd == nil || cmd.SkipFlagParsing:
		return append(out, args[i:]...), nil
	case len(cmd.Subcommands) > 0 && !strings.HasPrefix(args[i], "-") && args[i] != "help":
		return nil, unknownCommand(cmd.Subcommands, cmd.Name+" ", args[i])
	}
	var flags, positional []string
	for ; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			positional = append(positional, args[i:]...)
			i = len(args)
		case strings.HasPrefix(a, "-") && a != "-":
			flags = append(flags, a)
			if takesValue(cmd, a) && i+1 < len(args) {
				i++
				flags = append(flags, args[i])
			}
		default:
			positional = append(positional, a)
		}
	}
	return append(append(out, flags...), positional...), nil
}

// findCommand returns the command of cmds named name, or nil.
func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}

// takesValue reports whether a, a flag of cmd written without "=value",
// takes the next argument as its value: every flag but a boolean does.
// An unknown flag takes none; the parser reports it.
func takesValue(cmd *cli.Command, a string) bool {
	name := strings.TrimLeft(a, "-")
	if strings.Contains(name, "=") {
		return false
	}
	for _, f := range cmd.Flags {
		for _, n := range f.Names() {
			if n == name {
				_, isBool := f.(*cli.BoolFlag)
				return !isBool
			}
		}
	}
	return false
}

// unknownCommand says that name is no command and lists those there are.
func unknownCommand(cmds []*cli.Command, prefix, name string) error {
	var names []string
	for _, c := range cmds {
		if !c.Hidden {
			names = append(names, prefix+c.Name)
		}
	}
	return fmt.Errorf("unknown command %q; the commands are: %s (ldapply --help describes them)", strings.TrimSpace(prefix+name), strings.Join(names, ", "))
}

// usageErrors makes every command report a flag it does not know, or a
// bad flag value, in two lines on stderr (the error, then the command's
// usage line) instead of its whole help on stdout.
func usageErrors(app *cli.App) {
	app.OnUsageError = func(_ *cli.Context, err error, _ bool) error {
		return fmt.Errorf("%w\nUsage: ldapply [--help | --version] COMMAND [FLAGS] [ARGUMENTS]", err)
	}
	var walk func(cmds []*cli.Command)
	walk = func(cmds []*cli.Command) {
		for _, c := range cmds {
			usage := usageLine(c)
			c.OnUsageError = func(_ *cli.Context, err error, _ bool) error {
				return fmt.Errorf("%w\nUsage: %s (ldapply %s --help for more)", err, usage, c.FullName())
			}
			walk(c.Subcommands)
		}
	}
	walk(app.Commands)
}

// usageLine is the first line of c's usage text.
func usageLine(c *cli.Command) string {
	line, _, _ := strings.Cut(c.UsageText, "\n")
	if line == "" {
		line = "ldapply " + c.Name
	}
	return line
}
