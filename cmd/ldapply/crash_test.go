package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ldapply/ldapply/fixtures/icingasim"
	"github.com/ldapply/ldapply/state"
)

// TestMain lets tests run the CLI as a real child process (for signals).
func TestMain(m *testing.M) {
	if os.Getenv("LDAPPLY_TEST_RUN_MAIN") == "1" {
		os.Exit(Main(append([]string{"ldapply"}, os.Args[1:]...), os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// start runs the CLI as a child process.
func (e *env) start(args ...string) (*exec.Cmd, *bytes.Buffer) {
	e.t.Helper()
	full := append([]string{args[0], "--config", e.config}, args[1:]...)
	cmd := exec.Command(os.Args[0], full...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Env = append(os.Environ(), "LDAPPLY_TEST_RUN_MAIN=1")
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	return cmd, &out
}

// waitWrites waits until the simulator has answered at least n writes.
func waitWrites(t *testing.T, sim *icingasim.Server, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for writes(sim) < n {
		if time.Now().After(deadline) {
			t.Fatalf("the simulator saw only %d writes, waited for %d", writes(sim), n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func exitStatus(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return -int(ws.Signal())
		}
		return ee.ExitCode()
	}
	if err != nil {
		return -1000
	}
	return 0
}

// TestApplyInterrupt: on SIGINT apply starts nothing new, finishes and
// records what is in flight, releases the lock and exits 130.
func TestApplyInterrupt(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.must(0, "plan", "--out", e.path("p.plan"))
	e.sim.Inject(icingasim.Fault{Method: "PUT", Latency: 150 * time.Millisecond})
	cmd, out := e.start("apply", "--parallelism", "2", e.path("p.plan"))
	waitWrites(t, e.sim, 1)
	cmd.Process.Signal(os.Interrupt)
	if code := exitStatus(cmd.Wait()); code != exitInterrupted {
		t.Fatalf("apply exited %d, want %d\n%s", code, exitInterrupted, out)
	}
	if !strings.Contains(out.String(), "Apply interrupted") {
		t.Errorf("output:\n%s", out)
	}
	snap, err := state.Read(context.Background(), e.path("ldapply.state"), time.Second)
	if err != nil {
		t.Fatalf("state after interrupt: %v", err)
	}
	done := len(snap.Bindings["user"]) + len(snap.Bindings["group"])
	if n := len(e.sim.Contacts()) + len(e.sim.Groups()); n != done || done == 0 || done >= 13 {
		t.Fatalf("target has %d objects, state records %d; want equal, more than 0 and fewer than 13", n, done)
	}
	if _, err := os.Stat(e.path("ldapply.state.lock.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lock record left behind: %v", err)
	}
	// The next plan shows exactly what is left.
	rest := e.must(0, "plan", "--out", e.path("rest.plan"))
	if want := fmt.Sprintf("Plan: %d to add, 0 to change", 13-done); !strings.Contains(rest, want) {
		t.Errorf("plan after interrupt lacks %q:\n%s", want, rest)
	}
	e.must(0, "apply", e.path("rest.plan"))
	e.must(0, "plan", "--detailed-exitcode")
}

// fingerprint describes the target by names only, so runs against
// different slapd instances (other entryUUIDs) compare.
func fingerprint(sim *icingasim.Server) string {
	names := map[string]string{}
	for _, c := range sim.Contacts() {
		if c.Username != nil {
			names[c.ID] = *c.Username
		}
	}
	gnames := map[string]string{}
	for _, g := range sim.Groups() {
		gnames[g.ID] = g.Name
	}
	var lines []string
	for _, c := range sim.Contacts() {
		var gs []string
		for _, g := range c.Groups {
			gs = append(gs, gnames[g])
		}
		slices.Sort(gs)
		lines = append(lines, fmt.Sprintf("contact %s %q %v %v", names[c.ID], c.FullName, c.Addresses, gs))
	}
	for _, g := range sim.Groups() {
		var us []string
		for _, u := range g.Users {
			us = append(us, names[u])
		}
		slices.Sort(us)
		lines = append(lines, fmt.Sprintf("group %s %v", g.Name, us))
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// TestApplyKilled kills apply with SIGKILL after N completed writes, for a
// range of N, then plans and applies again: the target must end identical
// to an uninterrupted run, with no duplicate, orphan or lost member.
func TestApplyKilled(t *testing.T) {
	ref := newEnv(t, envOptions{})
	ref.sync()
	want := fingerprint(ref.sim)

	for n := 1; n <= 11; n++ { // 13 writes in all: every kill point but the last two
		t.Run(fmt.Sprintf("after_%d_writes", n), func(t *testing.T) {
			e := newEnv(t, envOptions{})
			e.must(0, "plan", "--out", e.path("p.plan"))
			e.sim.Inject(icingasim.Fault{Method: "PUT", Latency: 100 * time.Millisecond})
			cmd, out := e.start("apply", "--parallelism", "3", e.path("p.plan"))
			waitWrites(t, e.sim, n)
			cmd.Process.Kill()
			if code := exitStatus(cmd.Wait()); code != -int(syscall.SIGKILL) {
				t.Fatalf("apply was not killed (exit %d); it finished too fast for the test:\n%s", code, out)
			}
			// The writes it had in flight still land in the target.
			if !e.sim.WaitIdle(50*time.Millisecond, 10*time.Second) {
				t.Fatal("the simulator was still answering requests 10 s after the kill")
			}
			// The dead holder's lock is taken over, not left for force-unlock.
			_, errs, code := e.run("plan", "--out", e.path("again.plan"))
			if code != 0 {
				t.Fatalf("plan after the kill exited %d: %s", code, errs)
			}
			e.must(0, "apply", e.path("again.plan"))
			e.must(0, "plan", "--detailed-exitcode")
			if got := fingerprint(e.sim); got != want {
				t.Errorf("target after kill at %d writes and a new run differs from an uninterrupted run:\ngot:\n%s\nwant:\n%s", n, got, want)
			}
		})
	}
}
