package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ldapply/ldapply/fixtures/icingasim"
)

// TestPlanSaysWhatChangedOutside: a plan made after contacts were
// deleted in Icinga by hand says so before creating them again, and one
// made while a group lists a DN that matches no user says that too; in
// the text plan, Markdown and JSON alike.
func TestPlanSaysWhatChangedOutside(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.must(0, "plan", "--out", e.path("p.plan"))
	e.must(0, "apply", e.path("p.plan"))
	for _, name := range []string{"alice", "bob"} {
		c := e.contact(name)
		if c == nil {
			t.Fatalf("no contact %s after apply", name)
		}
		req := httptest.NewRequest(http.MethodDelete, icingasim.BasePath+"/contacts/"+c.ID, nil)
		req.SetBasicAuth("svc-icinga", testIcingaPassword)
		req.Header.Set("Accept", "application/json")
		rec := httptest.NewRecorder()
		e.sim.ServeHTTP(rec, req)
		if rec.Code/100 != 2 {
			t.Fatalf("deleting %s in the simulator: HTTP %d %s", name, rec.Code, rec.Body)
		}
	}
	e.ldif("dn: cn=dev,ou=groups,dc=example,dc=com\nchangetype: modify\nadd: member\nmember: uid=ghost,ou=people,dc=example,dc=com\n-\n")
	text := e.must(0, "plan", "--out", e.path("q.plan"))
	md := e.must(0, "show", "--markdown", e.path("q.plan"))
	var doc struct{ Warnings []string }
	if err := json.Unmarshal([]byte(e.must(0, "show", "--json", e.path("q.plan"))), &doc); err != nil {
		t.Fatal(err)
	}
	js := strings.Join(doc.Warnings, "\n")
	for _, want := range []string{
		`2 managed users were deleted outside ldapply: the state binds them, but Icinga no longer has them ("alice", "bob"); this plan creates them again`,
		`group "dev" lists 1 member DN that matches no user or group ldapply read (uid=ghost,ou=people,dc=example,dc=com)`,
	} {
		for format, out := range map[string]string{"plan": text, "show --markdown": md, "show --json": js} {
			if !strings.Contains(out, want) {
				t.Errorf("%s does not say %q:\n%s", format, want, out)
			}
		}
	}
}

// TestPlanFlagsRemovalByRename: right after a modrdn, before the
// directory's referential integrity (slapd's refint overlay) rewrote the
// groups' member values, a group lists the user's old DN; a plan would
// drop the user from it, and flags that removal as caused only by a
// member it cannot resolve. The test slapd runs refint, so the old DN is
// put in by hand.
func TestPlanFlagsRemovalByRename(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.must(0, "plan", "--out", e.path("p.plan"))
	e.must(0, "apply", e.path("p.plan"))
	e.ldif("dn: cn=ops,ou=groups,dc=example,dc=com\nchangetype: modify\ndelete: member\nmember: uid=carol,ou=people,dc=example,dc=com\n-\nadd: member\nmember: uid=carol-old,ou=people,dc=example,dc=com\n-\n")
	text := e.must(0, "plan")
	want := `group "ops": this plan only removes members the source still has ("carol") while the group lists 1 member DN that matches no user or group ldapply read (uid=carol-old,ou=people,dc=example,dc=com); the removal may be caused only by those`
	if !strings.Contains(text, want) {
		t.Errorf("plan does not say %q:\n%s", want, text)
	}
}
