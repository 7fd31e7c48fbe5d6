package main

import (
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ldapply/ldapply/fixtures/icingasim"
)

// TestPostgresApplyKilled kills an apply holding the PostgreSQL lock with
// SIGKILL: its connection ends, the server drops the advisory lock, and
// the next apply takes over the lock row left behind, warns about it and
// finishes the job; the state told the truth in between.
func TestPostgresApplyKilled(t *testing.T) {
	p := newPGEnv(t, "prod")
	p.must(0, "plan", "--out", p.path("p.plan"))
	p.sim.Inject(icingasim.Fault{Method: "PUT", Latency: 100 * time.Millisecond})
	cmd, out := p.start("apply", "--parallelism", "2", p.path("p.plan"))
	waitWrites(t, p.sim, 4)
	cmd.Process.Kill()
	if code := exitStatus(cmd.Wait()); code != -int(syscall.SIGKILL) {
		t.Fatalf("apply was not killed (exit %d); it finished too fast for the test:\n%s", code, out)
	}

	// The dead holder's row is still there; status and plan read past it.
	snap := readState(t, p.pgConf)
	recorded := len(snap.Bindings["user"]) + len(snap.Bindings["group"])
	if recorded == 0 || recorded >= 13 {
		t.Fatalf("the state records %d objects after the kill, want some but not all", recorded)
	}
	if n := len(p.sim.Contacts()) + len(p.sim.Groups()); n < recorded {
		t.Errorf("the state records %d objects but the target has only %d", recorded, n)
	}
	rest := p.must(0, "plan", "--out", p.path("rest.plan"))
	// Writes in flight when apply died happened but were not recorded:
	// the plan adopts them (never creates them twice).
	m := regexp.MustCompile(`Plan: (\d+) to add(?:, (\d+) to adopt)?`).FindStringSubmatch(rest)
	if m == nil {
		t.Fatalf("no summary in the plan after the kill:\n%s", rest)
	}
	add, _ := strconv.Atoi(m[1])
	adopt, _ := strconv.Atoi(m[2])
	if add+adopt != 13-recorded {
		t.Errorf("plan after the kill adds %d and adopts %d, want %d in all (the objects the state lacks):\n%s", add, adopt, 13-recorded, rest)
	}
	_, errs, code := p.run("apply", p.path("rest.plan"))
	if code != 0 {
		t.Fatalf("apply after the kill exited %d:\n%s", code, errs)
	}
	if !strings.Contains(errs, "Took over a lock left by a run that is gone") {
		t.Errorf("apply did not report the dead holder's lock:\n%s", errs)
	}
	p.must(0, "plan", "--detailed-exitcode")
	if c, g := len(p.sim.Contacts()), len(p.sim.Groups()); c != 8 || g != 5 {
		t.Errorf("target has %d contacts and %d groups, want 8 and 5", c, g)
	}
}
