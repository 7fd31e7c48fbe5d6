package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

func TestIntermix(t *testing.T) {
	app := newApp(nil, nil)
	for _, tc := range []struct{ in, want string }{
		{"apply x.plan --parallelism 3", "apply --parallelism 3 x.plan"},
		{"apply x.plan --parallelism=3 --ignore-drift", "apply --parallelism=3 --ignore-drift x.plan"},
		{"show x.plan --json", "show --json x.plan"},
		{"state show alice -c prod.yaml", "state show -c prod.yaml alice"},
		{"apply -- --odd.plan", "apply -- --odd.plan"},
		{"plan --out p.plan --json", "plan --out p.plan --json"},
		{"apply x.plan --generate-bash-completion", "apply x.plan --generate-bash-completion"},
		{"--version", "--version"},
	} {
		got, err := intermix(app, append([]string{"ldapply"}, strings.Fields(tc.in)...))
		if want := append([]string{"ldapply"}, strings.Fields(tc.want)...); err != nil || !slices.Equal(got, want) {
			t.Errorf("intermix(%s) = %q, %v; want %q", tc.in, got, err, want)
		}
	}
}

// TestCommandLineMistakes: an unknown command is named with the list of
// commands; an unknown flag gives the error and the command's usage line
// on stderr, and nothing on stdout.
func TestCommandLineMistakes(t *testing.T) {
	for _, tc := range []struct {
		args string
		want []string
	}{
		{"bogus", []string{`Error: unknown command "bogus"; the commands are: plan, show, apply, sync, status`}},
		{"state bogus", []string{`Error: unknown command "state bogus"; the commands are: state list, state show, state rm`}},
		{"plan --bogus", []string{"Error: flag provided but not defined: -bogus\nUsage: ldapply plan [--config FILE]"}},
		{"show x.plan --bogus", []string{"Error: flag provided but not defined: -bogus\nUsage: ldapply show [--json] [--markdown] [--max-chars CHARACTERS] [--gitlab-report FILE] [--no-color] [--force-color] PLANFILE"}},
		// A flag after the argument is read: the plan file is what fails.
		{"apply /nonexistent/x.plan --parallelism 3 --config /nonexistent.yaml", []string{"configuration file /nonexistent.yaml does not exist"}},
	} {
		var out, errs bytes.Buffer
		code := Main(append([]string{"ldapply"}, strings.Fields(tc.args)...), &out, &errs)
		if code != 1 || out.Len() != 0 {
			t.Errorf("%s: exit %d, stdout %q; want 1 and nothing", tc.args, code, out.String())
		}
		for _, want := range tc.want {
			if !strings.Contains(errs.String(), want) {
				t.Errorf("%s: stderr %q does not say %q", tc.args, errs.String(), want)
			}
		}
		if n := strings.Count(errs.String(), "\n"); n > 2 {
			t.Errorf("%s: %d lines on stderr, want at most 2:\n%s", tc.args, n, errs.String())
		}
	}
}

// TestNoColor: NO_COLOR turns colour off only when it is not empty
// (no-color.org); --no-color turns it off too.
func TestNoColor(t *testing.T) {
	var wanted []bool
	app := &cli.App{Flags: []cli.Flag{noColorFlag()}, Action: func(c *cli.Context) error {
		wanted = append(wanted, colorWanted(c))
		return nil
	}}
	for _, tc := range []struct {
		env  string
		args []string
		want bool
	}{
		{"", nil, true},
		{"1", nil, false},
		{"", []string{"--no-color"}, false},
	} {
		t.Setenv("NO_COLOR", tc.env)
		wanted = nil
		if err := app.Run(append([]string{"x"}, tc.args...)); err != nil || len(wanted) != 1 || wanted[0] != tc.want {
			t.Errorf("NO_COLOR=%q %v: colour wanted %v (%v), want %v", tc.env, tc.args, wanted, err, tc.want)
		}
	}
}

// TestForceColor: --force-color colours a plan written to no terminal
// (a CI log), unless --no-color is also set.
func TestForceColor(t *testing.T) {
	var got []bool
	app := &cli.App{Flags: []cli.Flag{noColorFlag(), forceColorFlag()}, Action: func(c *cli.Context) error {
		got = append(got, colorOK(&bytes.Buffer{}, c))
		return nil
	}}
	for _, args := range [][]string{{"x"}, {"x", "--force-color"}, {"x", "--force-color", "--no-color"}} {
		if err := app.Run(args); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(got, []bool{false, true, false}) {
		t.Errorf("colour for a buffer: %v, want [false true false]", got)
	}
}

// TestUsageLinesListEveryFlag: every command's usage line (the first line
// of its help, and what an unknown flag prints) names each of its flags,
// a flag that takes a value with its placeholder.
func TestUsageLinesListEveryFlag(t *testing.T) {
	app := newApp(nil, nil)
	var walk func(prefix string, cmds []*cli.Command)
	walk = func(prefix string, cmds []*cli.Command) {
		for _, c := range cmds {
			name := strings.TrimSpace(prefix + " " + c.Name)
			line, _, _ := strings.Cut(c.UsageText, "\n")
			if c.UsageText != "" {
				if !strings.HasPrefix(line, "ldapply "+name) {
					t.Errorf("%s: usage line %q", name, line)
				}
				for _, f := range c.Flags {
					want := strings.TrimSpace("--" + f.Names()[0] + " " + placeholder(f))
					if !strings.Contains(line, want) {
						t.Errorf("%s: usage line %q does not name %q", name, line, want)
					}
				}
			}
			walk(name, c.Subcommands)
		}
	}
	walk("", app.Commands)
	for _, c := range app.Commands {
		if c.Name == "plan" && !strings.Contains(c.UsageText, "[--lock-timeout DURATION]") {
			t.Errorf("plan's usage %q lacks [--lock-timeout DURATION]", c.UsageText)
		}
	}
}
