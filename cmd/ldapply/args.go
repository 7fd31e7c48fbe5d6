package main

import (
	"fmt"
	"regexp"
	"slices"
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

// usageErrors gives every command a usage line that lists all its flags
// (see usageLine), and makes it report a flag it does not know, or a bad
// flag value, in two lines on stderr (the error, then that usage line)
// instead of its whole help on stdout.
func usageErrors(app *cli.App) {
	app.OnUsageError = func(_ *cli.Context, err error, _ bool) error {
		return fmt.Errorf("%w\nUsage: ldapply [--help | --version] COMMAND [FLAGS] [ARGUMENTS]", err)
	}
	var walk func(prefix string, cmds []*cli.Command)
	walk = func(prefix string, cmds []*cli.Command) {
		for _, c := range cmds {
			name := strings.TrimSpace(prefix + " " + c.Name)
			if c.UsageText != "" {
				first, rest, _ := strings.Cut(c.UsageText, "\n")
				c.UsageText = usageLine(c, name, first)
				if rest != "" {
					c.UsageText += "\n" + rest
				}
			}
			usage := c.UsageText
			usage, _, _ = strings.Cut(usage, "\n")
			if usage == "" {
				usage = "ldapply " + name
			}
			c.OnUsageError = func(_ *cli.Context, err error, _ bool) error {
				return fmt.Errorf("%w\nUsage: %s (ldapply %s --help for more)", err, usage, name)
			}
			walk(name, c.Subcommands)
		}
	}
	walk("", app.Commands)
}

// bracketed matches the optional parts of a written usage line.
var bracketed = regexp.MustCompile(`\[[^\]]*\]`)

// usageLine returns the usage line of command c (named name, "state
// list"), made from its flags so that it names every one with its
// placeholder ("[--lock-timeout DURATION]"), from the line written,
// written: the flags it writes outside brackets (required ones, such as
// sync's --auto-approve) and its arguments ("PLANFILE") are kept.
func usageLine(c *cli.Command, name, written string) string {
	rest := strings.Fields(bracketed.ReplaceAllString(strings.TrimPrefix(written, "ldapply "+name), " "))
	parts := []string{"ldapply " + name}
	required := map[string]bool{}
	var args []string
	for i := 0; i < len(rest); i++ {
		if !strings.HasPrefix(rest[i], "--") {
			args = append(args, rest[i])
			continue
		}
		f := flagNamed(c, strings.TrimPrefix(rest[i], "--"))
		if f == nil {
			args = append(args, rest[i])
			continue
		}
		required[f.Names()[0]] = true
		parts = append(parts, strings.TrimSpace("--"+f.Names()[0]+" "+placeholder(f)))
		if placeholder(f) != "" && i+1 < len(rest) {
			i++ // the placeholder written
		}
	}
	for _, f := range c.Flags {
		if !required[f.Names()[0]] {
			parts = append(parts, "["+strings.TrimSpace("--"+f.Names()[0]+" "+placeholder(f))+"]")
		}
	}
	return strings.Join(append(parts, args...), " ")
}

// flagNamed returns c's flag of that name, or nil.
func flagNamed(c *cli.Command, name string) cli.Flag {
	for _, f := range c.Flags {
		if slices.Contains(f.Names(), name) {
			return f
		}
	}
	return nil
}

// placeholder names the value of flag f: the `NAME` its usage quotes, or
// one by its type; "" for a boolean.
func placeholder(f cli.Flag) string {
	var usage string
	if u, ok := f.(interface{ GetUsage() string }); ok {
		usage = u.GetUsage()
	}
	switch f.(type) {
	case *cli.BoolFlag:
		return ""
	}
	if _, after, ok := strings.Cut(usage, "`"); ok {
		if name, _, ok := strings.Cut(after, "`"); ok && name != "" {
			return name
		}
	}
	switch f.(type) {
	case *cli.DurationFlag:
		return "DURATION"
	case *cli.IntFlag:
		return "N"
	}
	return "VALUE"
}
