package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

var updateDocs = flag.Bool("update", false, "rewrite docs/environment.md from the flag definitions")

const envDoc = "../../docs/environment.md"

// TestEnvironmentDoc keeps docs/environment.md in step with the flag
// definitions: go test ./cmd/ldapply -run TestEnvironmentDoc -update
// rewrites it.
func TestEnvironmentDoc(t *testing.T) {
	want := envTable(newApp(io.Discard, io.Discard))
	if *updateDocs {
		if err := os.WriteFile(envDoc, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(envDoc)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("%s is not what the flag definitions give; run go test ./cmd/ldapply -run TestEnvironmentDoc -update", envDoc)
	}
	for _, name := range []string{"LDAPPLY_CONFIG", "LDAPPLY_SHOW_JSON", "LDAPPLY_STATUS_RUNS", "LDAPPLY_PULL_OUT", "LDAPPLY_MIGRATE_FROM", "LDAPPLY_PLAN_LOCK_TIMEOUT", "LDAPPLY_STATUS_LOCK_TIMEOUT"} {
		if !strings.Contains(want, "| `"+name+"` |") {
			t.Errorf("the table has no row for %s:\n%s", name, want)
		}
	}
}

// TestEnvNames: a variable sets one flag, or flags that mean the same
// with the same default in every command that has them; every flag but
// the safety ones has a variable, and those have none.
func TestEnvNames(t *testing.T) {
	app := newApp(io.Discard, io.Discard)
	for name, fs := range envFlags(app) {
		if !strings.HasPrefix(name, "LDAPPLY_") {
			t.Errorf("%s (--%s of %s) does not start with LDAPPLY_", name, fs[0].flag.Names()[0], fs[0].command)
		}
		for _, f := range fs[1:] {
			if flagDefault(f.flag) != flagDefault(fs[0].flag) || usage(f.flag) != usage(fs[0].flag) {
				t.Errorf("%s sets --%s of %s (default %s) and --%s of %s (default %s): give each its own variable",
					name, fs[0].flag.Names()[0], fs[0].command, flagDefault(fs[0].flag), f.flag.Names()[0], f.command, flagDefault(f.flag))
			}
		}
	}
	var walk func(prefix string, cmds []*cli.Command)
	walk = func(prefix string, cmds []*cli.Command) {
		for _, c := range cmds {
			name := strings.TrimSpace(prefix + " " + c.Name)
			for _, f := range c.Flags {
				flag, envs := f.Names()[0], flagEnvVars(f)
				switch {
				case slices.Contains(commandLineOnly, flag) && len(envs) > 0:
					t.Errorf("--%s of %s is read from %v; safety flags come from the command line only", flag, name, envs)
				case !slices.Contains(commandLineOnly, flag) && len(envs) != 1:
					t.Errorf("--%s of %s has variables %v, want one", flag, name, envs)
				}
			}
			walk(name, c.Subcommands)
		}
	}
	walk("", app.Commands)
}

func usage(f cli.Flag) string {
	if u, ok := f.(interface{ GetUsage() string }); ok {
		return u.GetUsage()
	}
	return ""
}

// TestSafetyFlagsIgnoreEnvironment: LDAPPLY_AUTO_APPROVE=true and the
// like set nothing (issue 21, item 2: they made sync apply unreviewed);
// a run with one set warns that it is not read. On the command line the
// flags work.
func TestSafetyFlagsIgnoreEnvironment(t *testing.T) {
	t.Setenv("LDAPPLY_AUTO_APPROVE", "true")
	t.Setenv("LDAPPLY_IGNORE_DRIFT", "true")
	t.Setenv("LDAPPLY_ALLOW_DELETES", "1000")
	seen := map[string]string{}
	app := newApp(io.Discard, io.Discard)
	var errb bytes.Buffer
	app.Before = func(c *cli.Context) error { return checkEnv(c, &errb) }
	record := func(c *cli.Context) error {
		for _, f := range commandLineOnly {
			if c.IsSet(f) {
				seen[c.Command.FullName()+" --"+f] = fmt.Sprint(c.Value(f))
			}
		}
		return nil
	}
	for _, c := range app.Commands {
		c.Action = record
	}
	for _, args := range [][]string{{"sync"}, {"apply", "x.plan"}, {"plan"}} {
		if err := app.Run(append([]string{"ldapply"}, args...)); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
	}
	if len(seen) > 0 {
		t.Errorf("safety flags were set from the environment: %v", seen)
	}
	for _, name := range []string{"LDAPPLY_AUTO_APPROVE", "LDAPPLY_IGNORE_DRIFT", "LDAPPLY_ALLOW_DELETES"} {
		if !strings.Contains(errb.String(), "Warning: "+name+" is set but not read") {
			t.Errorf("no warning that %s is not read:\n%s", name, errb.String())
		}
	}
	if err := app.Run([]string{"ldapply", "sync", "--auto-approve", "--ignore-drift", "--allow-deletes", "3"}); err != nil {
		t.Fatal(err)
	}
	for _, f := range commandLineOnly {
		if _, ok := seen["sync --"+f]; !ok {
			t.Errorf("--%s on the command line was not read", f)
		}
	}

	// The real sync refuses without the flag.
	var out, errs bytes.Buffer
	if code := Main([]string{"ldapply", "sync", "--config", "/nonexistent.yaml"}, &out, &errs); code != exitError || !strings.Contains(errs.String(), "pass --auto-approve") {
		t.Errorf("sync with LDAPPLY_AUTO_APPROVE=true only exited %d: %s", code, errs.String())
	}
}

// TestBadEnvValue: a variable that does not parse is one sentence naming
// it and what it takes, not a parser's error followed by the help.
func TestBadEnvValue(t *testing.T) {
	for _, tc := range []struct {
		args      []string
		name, val string
		want      string
	}{
		{[]string{"plan"}, "LDAPPLY_DETAILED_EXITCODE", "yes", "Error: LDAPPLY_DETAILED_EXITCODE=yes is not a boolean; use true or false\n"},
		{[]string{"state", "list"}, "LDAPPLY_STATE_LIST_LOCK_TIMEOUT", "10", "Error: LDAPPLY_STATE_LIST_LOCK_TIMEOUT=10 is not a duration; use a number with a unit, such as 30s or 2m\n"},
		{[]string{"apply", "x.plan"}, "LDAPPLY_PARALLELISM", "many", "Error: LDAPPLY_PARALLELISM=many is not a whole number\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(tc.name, tc.val)
			var out, errs bytes.Buffer
			code := Main(append(append([]string{"ldapply"}, tc.args...), "--config", "/nonexistent.yaml"), &out, &errs)
			if code != exitError || errs.String() != tc.want || out.Len() > 0 {
				t.Errorf("exit %d\nstderr %q\nwant   %q\nstdout %q", code, errs.String(), tc.want, out.String())
			}
		})
	}
	// A variable of another command's flag is not read, so not checked.
	t.Setenv("LDAPPLY_SHOW_JSON", "yes")
	var out, errs bytes.Buffer
	if code := Main([]string{"ldapply", "validate", "--config", "/nonexistent.yaml"}, &out, &errs); strings.Contains(errs.String(), "LDAPPLY_SHOW_JSON") {
		t.Errorf("validate (exit %d) checked show's variable: %s", code, errs.String())
	}
}
