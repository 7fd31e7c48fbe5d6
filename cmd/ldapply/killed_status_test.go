package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ldapply/ldapply/fixtures/icingasim"
	"github.com/ldapply/ldapply/state"
)

// TestStatusAfterKill kills an apply with SIGKILL, in a child process,
// for each state backend: status must show the run as Interrupted
// (killed) with how far it got and the dead holder, and the lock it left
// as stale with its holder; after the next apply the killed run stays in
// the history.
func TestStatusAfterKill(t *testing.T) {
	t.Run("bbolt", func(t *testing.T) { statusAfterKill(t, newEnv(t, envOptions{})) })
	t.Run("postgres", func(t *testing.T) { statusAfterKill(t, newPGEnv(t, "prod").env) })
}

func statusAfterKill(t *testing.T, e *env) {
	e.must(0, "plan", "--out", e.path("p.plan"))
	e.sim.Inject(icingasim.Fault{Method: "PUT", Latency: 300 * time.Millisecond})
	cmd, out := e.start("apply", "--parallelism", "1", e.path("p.plan"))
	// Long enough for the run to record how far it got at least once.
	waitWrites(t, e.sim, int(runProgressEvery/(300*time.Millisecond))+3)
	cmd.Process.Kill()
	if code := exitStatus(cmd.Wait()); code != -int(syscall.SIGKILL) {
		t.Fatalf("apply was not killed (exit %d); it finished too fast for the test:\n%s", code, out)
	}
	pid := cmd.Process.Pid

	text := e.must(0, "status")
	for _, want := range []string{
		"State: Interrupted (killed)\n",
		fmt.Sprintf("Stale lock: held by apply of %s (pid %d) since ", who(t), pid),
		"that process is gone. The next apply takes the lock over (or run ldapply force-unlock ",
		"interrupted (killed) apply  the process died before it finished: at least ",
		fmt.Sprintf(" of 13 changes done (%s, pid %d); run plan to see what is left", who(t), pid),
	} {
		if !strings.Contains(text, want) {
			t.Errorf("status lacks %q:\n%s", want, text)
		}
	}
	if m := regexp.MustCompile(`at least (\d+) of 13`).FindStringSubmatch(text); m == nil {
		t.Errorf("status does not say how far the killed run got:\n%s", text)
	} else if done, _ := strconv.Atoi(m[1]); done < 1 || done > 12 {
		t.Errorf("status says the killed run got %d changes done, want between 1 and 12", done)
	}
	t.Logf("status after the kill:\n%s", text)

	var doc statusDoc
	if err := json.Unmarshal([]byte(e.must(0, "status", "--json")), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.State != "Interrupted" || len(doc.Runs) != 1 || !doc.Runs[0].Killed || doc.Runs[0].Status != state.StatusInterrupted ||
		doc.Runs[0].Holder == nil || doc.Runs[0].Holder.PID != pid || doc.StaleLock == nil || doc.StaleLock.PID != pid {
		t.Errorf("status --json after the kill: %+v", doc)
	}

	// The next apply takes the lock over and finishes; the killed run
	// stays in the history, the lock is no longer stale.
	e.must(0, "plan", "--out", e.path("rest.plan"))
	e.must(0, "apply", e.path("rest.plan"))
	text = e.must(0, "status")
	if !strings.HasPrefix(text, "State: Success\n") || strings.Contains(text, "Stale lock") || !strings.Contains(text, "interrupted (killed) apply") {
		t.Errorf("status after the next apply:\n%s", text)
	}
}

func who(t *testing.T) string {
	t.Helper()
	return state.NewLockInfo("", "").Who
}
