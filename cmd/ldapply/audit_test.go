package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ldapply/ldapply/fixtures/icingasim"
)

// TestBoundedLogAndAuditLog applies a plan of a few thousand changes
// against the Icinga simulator: the log (not a terminal, as in CI) stays
// under a fixed bound, says how many changes it left out and where they
// are, and the audit log has exactly one line per change, each applied.
func TestBoundedLogAndAuditLog(t *testing.T) {
	e := newEnv(t, envOptions{})
	t.Setenv("LOG_LEVEL", "") // the default level
	const bulk = 3000
	var b strings.Builder
	for i := range bulk {
		u := fmt.Sprintf("bulk%04d", i)
		fmt.Fprintf(&b, "dn: uid=%s,ou=people,dc=example,dc=com\nchangetype: add\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s\nsn: %s\nmail: %s@example.com\n\n", u, u, u, u, u)
	}
	e.ldif(b.String())
	out := e.must(0, "plan", "--out", e.path("big.plan"))
	m := regexp.MustCompile(`Plan: (\d+) to add`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no summary in the plan:\n%s", out)
	}
	changes, _ := strconv.Atoi(m[1])
	if changes < bulk {
		t.Fatalf("the plan adds %d objects, want at least %d", changes, bulk)
	}
	audit := e.path("audit.jsonl")
	_, errs, code := e.run("apply", "--audit-log", audit, e.path("big.plan"))
	if code != 0 {
		t.Fatalf("apply exited %d:\n%s", code, errs)
	}
	t.Logf("apply of %d changes: %d log lines, %d bytes; last lines:\n%s", changes, strings.Count(errs, "\n"), len(errs), tail(errs, 8))
	// The bound: 200 change lines, a few summaries, whatever the plan size.
	if lines := strings.Count(errs, "\n"); lines > defaultChangeLines+30 || len(errs) > 64<<10 {
		t.Errorf("apply of %d changes logged %d lines, %d bytes; want at most %d lines and 64 KiB", changes, lines, len(errs), defaultChangeLines+30)
	}
	if n := strings.Count(errs, `msg="Change applied."`); n != defaultChangeLines {
		t.Errorf("%d lines name a change applied, want %d", n, defaultChangeLines)
	}
	want := fmt.Sprintf("Left %d changes applied out of this log; the first %d were logged one by one, the phase summaries count the rest. The audit log %s records every change.", changes-defaultChangeLines, defaultChangeLines, audit)
	if !strings.Contains(errs, want) || !strings.Contains(errs, `msg="Finished the user changes." kind=user applied=`) {
		t.Errorf("the log lacks the count left out with the audit log's path, or the phase summary:\n%s", tail(errs, 10))
	}

	f, err := os.Open(audit)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if fi, _ := f.Stat(); fi.Mode().Perm() != 0o600 {
		t.Errorf("the audit log has mode %v, want 0600", fi.Mode().Perm())
	}
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r auditRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		if r.Outcome != "applied" || r.Action != "create" || r.Key == "" || r.ID == "" || r.Name == "" || r.Run == "" || r.Operation != "apply" || r.Time.IsZero() {
			t.Errorf("audit line %s lacks a field or is not an applied create", sc.Text())
		}
		if seen[r.Kind+"/"+r.Key] {
			t.Errorf("%s %s has two lines", r.Kind, r.Key)
		}
		seen[r.Kind+"/"+r.Key] = true
		if strings.Contains(sc.Text(), testIcingaPassword) {
			t.Errorf("audit line holds the target password: %s", sc.Text())
		}
	}
	if len(seen) != changes {
		t.Errorf("the audit log has %d lines, want one for each of the %d changes", len(seen), changes)
	}

	// Without --audit-log the log says how to get every change.
	e.ldif("dn: uid=bulk0000,ou=people,dc=example,dc=com\nchangetype: modify\nreplace: mail\nmail: other@example.com\n-\n")
	e.must(0, "plan", "--out", e.path("small.plan"))
	_, errs, code = e.run("apply", "--log-changes", "0", e.path("small.plan"))
	if code != 0 || strings.Count(errs, `msg="Change applied."`) != 1 || strings.Contains(errs, "out of this log") {
		t.Errorf("a small apply with --log-changes 0 exited %d and logged:\n%s", code, errs)
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// TestSyncAuditLogOutcomes: sync writes the audit log too, with the
// failed change's error and the degraded change's missing member.
func TestSyncAuditLogOutcomes(t *testing.T) {
	e := newEnv(t, envOptions{})
	graceID := contactID(e.entryUUID("uid=grace,ou=people,dc=example,dc=com"))
	e.sim.Inject(icingasim.Fault{Method: "PUT", Path: "contacts/" + graceID, Status: 422, Message: "Invalid request body: simulated", Count: 1})
	audit := e.path("audit.jsonl")
	if _, errs, code := e.run("sync", "--auto-approve", "--audit-log", audit); code != exitError {
		t.Fatalf("sync exited %d, want %d:\n%s", code, exitError, errs)
	}
	data, err := os.ReadFile(audit)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	byName := map[string]auditRecord{}
	for _, l := range lines {
		var r auditRecord
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("audit line %q: %v", l, err)
		}
		if r.Operation != "sync" {
			t.Errorf("audit line of sync says operation %q", r.Operation)
		}
		byName[r.Name] = r
	}
	if len(lines) != 13 || len(byName) != 13 {
		t.Errorf("the audit log has %d lines for %d objects, want 13 for 13 changes:\n%s", len(lines), len(byName), data)
	}
	if g := byName["grace"]; g.Outcome != "failed" || !strings.Contains(g.Error, "Invalid request body: simulated") {
		t.Errorf("grace's line: %+v, want failed with the target's error", g)
	}
	if g := byName["r&d (lab)*"]; g.Outcome != "applied" || len(g.Without) != 1 || g.Without[0] != "grace" {
		t.Errorf("r&d (lab)*'s line: %+v, want applied without grace", g)
	}
}
