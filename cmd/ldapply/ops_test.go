package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
	"gopkg.in/yaml.v3"
)

// invocations finds every "ldapply …" command line in s.
var invocationRE = regexp.MustCompile(`(?:^|[\s/=])ldapply((?:[ \t]+[-\w./$=%{}@:]+)+)`)

// checkInvocation fails when args name a command or flag the CLI lacks.
func checkInvocation(t *testing.T, where string, args []string) {
	t.Helper()
	app := newApp(&bytes.Buffer{}, &bytes.Buffer{})
	cmds := app.Commands
	var cmd *cli.Command
	i := 0
	for ; i < len(args) && !strings.HasPrefix(args[i], "-"); i++ {
		var next *cli.Command
		for _, c := range cmds {
			if c.Name == args[i] {
				next = c
			}
		}
		if next == nil {
			if cmd == nil {
				t.Errorf("%s: `ldapply %s`: no command %q", where, strings.Join(args, " "), args[i])
			}
			break // an argument (PLANFILE, KEY)
		}
		cmd, cmds = next, next.Subcommands
	}
	if cmd == nil {
		return
	}
	for _, a := range args[i:] {
		if !strings.HasPrefix(a, "--") {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		found := false
		for _, f := range cmd.Flags {
			for _, n := range f.Names() {
				found = found || n == name
			}
		}
		if !found {
			t.Errorf("%s: `ldapply %s`: command %s has no flag --%s", where, strings.Join(args, " "), cmd.Name, name)
		}
	}
}

func scriptStrings(n *yaml.Node, out *[]string) {
	if n.Kind == yaml.ScalarNode {
		*out = append(*out, n.Value)
	}
	for _, c := range n.Content {
		scriptStrings(c, out)
	}
}

// TestExamplesRunRealCommands parses the CI examples as YAML and checks
// that every ldapply command they run exists, with its flags.
func TestExamplesRunRealCommands(t *testing.T) {
	files, _ := filepath.Glob("../../examples/*.yml")
	more, _ := filepath.Glob("../../packaging/ldapply@.*") // the systemd units
	if len(files) < 2 || len(more) < 2 {
		t.Fatalf("examples missing: %v %v", files, more)
	}
	seen := 0
	for _, f := range append(files, more...) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var texts []string
		if strings.HasSuffix(f, ".yml") {
			var doc yaml.Node
			if err := yaml.Unmarshal(b, &doc); err != nil {
				t.Fatalf("%s is not valid YAML: %v", f, err)
			}
			scriptStrings(&doc, &texts)
		} else {
			// systemd units: only the command lines.
			for _, l := range strings.Split(string(b), "\n") {
				if strings.HasPrefix(l, "ExecStart=") {
					texts = append(texts, l)
				}
			}
		}
		for _, text := range texts {
			for _, m := range invocationRE.FindAllStringSubmatch(text, -1) {
				args := strings.Fields(m[1])
				if len(args) == 0 || strings.HasPrefix(args[0], "-") || strings.Contains(args[0], "/") {
					continue
				}
				seen++
				checkInvocation(t, filepath.Base(f), args)
			}
		}
	}
	if seen < 10 {
		t.Errorf("found only %d ldapply invocations in the examples", seen)
	}
}

func TestSyncStatusMetrics(t *testing.T) {
	e := newEnv(t, envOptions{extraTop: "safety:\n  max_deletes: 1\n"})
	metrics := e.path("ldapply.prom")
	if _, errs, code := e.run("sync"); code != 1 || !strings.Contains(errs, "--auto-approve") {
		t.Errorf("sync without --auto-approve exited %d: %s", code, errs)
	}
	out := e.must(0, "sync", "--auto-approve", "--metrics-file", metrics)
	if !strings.Contains(out, "Plan: 13 to add") || !strings.Contains(out, "Apply complete!") || len(e.sim.Contacts()) != 8 {
		t.Errorf("sync did not plan and apply:\n%s", out)
	}
	m, _ := os.ReadFile(metrics)
	for _, want := range []string{`ldapply_run_success{operation="sync"} 1`, `ldapply_applied_changes{operation="sync",action="create"} 13`, `ldapply_planned_changes{operation="sync",kind="user",action="create"} 8`, `ldapply_last_success_timestamp_seconds{operation="sync"} `} {
		if !bytes.Contains(m, []byte(want)) {
			t.Errorf("metrics lack %q:\n%s", want, m)
		}
	}
	lastOK := lastSuccessRE.Find(m)

	// The guards still hold for sync: two deletes over max_deletes 1.
	deleteUsers(e, "dave", "frank")
	if _, errs, code := e.run("sync", "--auto-approve", "--metrics-file", metrics); code != 1 || !strings.Contains(errs, "more than safety.max_deletes 1") {
		t.Errorf("sync over the delete guard exited %d: %s", code, errs)
	}
	if e.contact("dave") == nil {
		t.Error("sync deleted despite the guard")
	}
	m, _ = os.ReadFile(metrics)
	if !bytes.Contains(m, []byte(`ldapply_run_success{operation="sync"} 0`)) || !bytes.Contains(m, lastOK) {
		t.Errorf("after a failed run the metrics should say failure and keep the last success (%s):\n%s", lastOK, m)
	}

	st := e.must(0, "status")
	if !strings.Contains(st, "State: Success") || !strings.Contains(st, "Managed: 5 groups, 8 users") || !strings.Contains(st, "13 added") {
		t.Errorf("status:\n%s", st)
	}
	var doc statusDoc
	if err := json.Unmarshal([]byte(e.must(0, "status", "--json")), &doc); err != nil || doc.State != "Success" || len(doc.Runs) != 1 || doc.Runs[0].Counts["create"] != 13 {
		t.Errorf("status --json: %v %+v", err, doc)
	}
}

func TestCompletionAndMan(t *testing.T) {
	// bash and zsh ask ldapply for candidates; fish's script lists them.
	mark := map[string]string{"bash": "--generate-bash-completion", "zsh": "--generate-bash-completion", "fish": "complete -c ldapply"}
	for _, sh := range []string{"bash", "zsh", "fish"} {
		var out, errb bytes.Buffer
		if code := Main([]string{"ldapply", "completion", sh}, &out, &errb); code != 0 || !strings.Contains(out.String(), mark[sh]) {
			t.Errorf("completion %s exited %d: %s%s", sh, code, out.String(), errb.String())
		}
		if sh == "fish" {
			checkFishScript(t, out.String())
		}
	}
	// urfave/cli reads os.Args for completion, so ask a real process.
	cmd := exec.Command(os.Args[0], "--generate-bash-completion")
	cmd.Env = append(os.Environ(), "LDAPPLY_TEST_RUN_MAIN=1")
	cands, err := cmd.Output()
	if err != nil || !strings.Contains(string(cands), "plan\n") || !strings.Contains(string(cands), "force-unlock\n") {
		t.Errorf("completion candidates: %q (%v)", cands, err)
	}
	var out, errb bytes.Buffer
	if code := Main([]string{"ldapply", "man"}, &out, &errb); code != 0 || !strings.Contains(out.String(), ".TH") || !strings.Contains(out.String(), "force-unlock") {
		t.Errorf("man page: exit %d, %q", code, out.String()[:min(200, out.Len())])
	}
	// Every command's help carries an example.
	app := newApp(&out, &errb)
	for _, c := range app.Commands {
		if c.Hidden || c.Name == "version" {
			continue
		}
		if len(c.Subcommands) == 0 && !strings.Contains(c.UsageText, "Example") {
			t.Errorf("ldapply %s --help has no example", c.Name)
		}
		for _, s := range c.Subcommands {
			if s.Name == "help" {
				continue // urfave/cli's own, added to a shared command on a first run
			}
			if !strings.Contains(s.UsageText, "Example") {
				t.Errorf("ldapply %s %s --help has no example", c.Name, s.Name)
			}
		}
	}
}

// checkFishScript wants the fish script to name the commands' flags once
// each and to parse (fish -n) where fish is installed, which CI requires.
func checkFishScript(t *testing.T, script string) {
	t.Helper()
	for _, want := range []string{"-l auto-approve", "-l lock-timeout", "-l max-chars"} {
		if !strings.Contains(script, want) {
			t.Errorf("completion fish lacks %q", want)
		}
	}
	seen := map[string]bool{}
	for _, l := range strings.Split(script, "\n") {
		if strings.HasPrefix(l, "complete ") && seen[l] {
			t.Errorf("completion fish repeats %q", l)
		}
		seen[l] = true
	}
	fish, err := exec.LookPath("fish")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("fish is not installed, so the fish completion cannot be checked; install it (apt-get install fish)")
		}
		t.Logf("fish is not installed: the fish script's syntax is not checked")
		return
	}
	f := filepath.Join(t.TempDir(), "ldapply.fish")
	if err := os.WriteFile(f, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(fish, "-n", f).CombinedOutput(); err != nil {
		t.Errorf("fish -n on the completion script: %v\n%s", err, out)
	}
}

func TestPlainProgressLines(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf, "apply", "changes", 10)
	p.every = 0 // a line at every update
	p.Set(3, 10)
	p.Finish()
	if got := buf.String(); !strings.Contains(got, "apply: 3/10 changes done") {
		t.Errorf("progress lines:\n%s", got)
	}
	buf.Reset()
	p = newProgress(&buf, "reading the directory", "entries", -1)
	p.every = 0
	p.Set(500, -1)
	if got := buf.String(); !strings.Contains(got, "reading the directory: 500 entries") {
		t.Errorf("progress lines:\n%s", got)
	}
	// Short runs in CI print nothing: no line before the interval.
	buf.Reset()
	p = newProgress(&buf, "apply", "changes", 10)
	p.Set(10, 10)
	p.Finish()
	if buf.Len() != 0 {
		t.Errorf("a short run printed progress: %q", buf.String())
	}
}
