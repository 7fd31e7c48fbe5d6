package main

import (
	"slices"
	"strings"
	"testing"
)

// limitsLDIF adds a user whose uid is uid (under the RDN cn=Long Uid)
// and a group "limits" holding it and alice.
func limitsLDIF(uid string) string {
	return `dn: cn=Long Uid,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
cn: Long Uid
sn: Uid
uid: ` + uid + `
mail: long@example.com

dn: cn=limits,ou=groups,dc=example,dc=com
objectClass: groupOfNames
cn: limits
member: cn=Long Uid,ou=people,dc=example,dc=com
member: uid=alice,ou=people,dc=example,dc=com
`
}

// warningLines returns the plan's "Warning:" lines that mention about.
func warningLines(out, about string) []string {
	var ws []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "Warning: ") && strings.Contains(l, about) {
			ws = append(ws, l)
		}
	}
	return ws
}

// TestIcingaUsernameLimit: a 255-character uid (the real server answers
// it with a 500, and icingasim does too) is left out at plan time with
// one warning; apply has no failed change, the group holds alice, and
// the next plan is empty but for the same warning. A managed user whose
// uid grows past the limit is left as it is, not deleted.
func TestIcingaUsernameLimit(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.ldif(limitsLDIF(strings.Repeat("u", 255)))
	const longDN = "cn=Long Uid,ou=people,dc=example,dc=com"

	out := e.must(0, "plan", "--out", e.path("limits.plan"))
	ws := warningLines(out, longDN)
	if len(ws) != 1 {
		t.Fatalf("plan warns %d times about %s, want once:\n%s", len(ws), longDN, out)
	}
	wantContains(t, ws[0], "is left out of the plan", "username is 255 characters long", "the most is 254", "groups that hold it are planned without it")
	if strings.Contains(out, strings.Repeat("u", 255)+" ") || strings.Contains(out, "+ user "+strings.Repeat("u", 40)) {
		t.Errorf("the plan creates the long user:\n%s", out)
	}
	applied := e.must(0, "apply", e.path("limits.plan"))
	wantContains(t, applied, "Apply complete!")
	if g := e.group("limits"); g == nil || !slices.Equal(e.memberNames(g), []string{"alice"}) {
		t.Fatalf("group limits = %+v; want alice in it", g)
	}
	for _, c := range e.sim.Contacts() {
		if c.Username != nil && len(*c.Username) > 254 {
			t.Errorf("Icinga holds the 255-character username")
		}
	}
	again := e.must(0, "plan", "--detailed-exitcode")
	wantContains(t, again, "No changes.")
	if got := warningLines(again, longDN); !slices.Equal(got, ws) {
		t.Errorf("second plan's warnings about the user = %q, want the first plan's %q", got, ws)
	}

	t.Run("managed_user_grows_past_the_limit", func(t *testing.T) {
		const heldDN = "cn=Held User,ou=people,dc=example,dc=com"
		e.ldif(`dn: ` + heldDN + `
objectClass: inetOrgPerson
cn: Held User
sn: User
uid: held
mail: held@example.com

dn: cn=limits,ou=groups,dc=example,dc=com
changetype: modify
add: member
member: ` + heldDN + `
-
`)
		e.sync()
		held := e.contact("held")
		if held == nil || !slices.Contains(e.memberNames(e.group("limits")), "held") {
			t.Fatalf("held was not synced into limits: %+v", held)
		}
		e.ldif("dn: " + heldDN + "\nchangetype: modify\nreplace: uid\nuid: " + strings.Repeat("h", 300) + "\n-\n")
		out := e.must(0, "plan", "--detailed-exitcode")
		wantContains(t, out, "No changes.")
		ws := warningLines(out, heldDN)
		if len(ws) != 1 {
			t.Fatalf("plan warns %d times about %s, want once:\n%s", len(ws), heldDN, out)
		}
		wantContains(t, ws[0], "left as it is in Icinga", "not deleted", "300 characters")
		if now := e.contact("held"); now == nil || now.ID != held.ID {
			t.Errorf("the held contact is gone or replaced: %+v", now)
		}
		if got := e.memberNames(e.group("limits")); !slices.Equal(got, []string{"alice", "held"}) {
			t.Errorf("limits holds %v; want alice and held", got)
		}
	})
}

// TestUDMUsernameSyntax: a username UCS's syntax refuses (an @) is left
// out at plan time with one warning; apply has no failed change, the
// group holds alice, and the next plan is empty but for the same warning.
func TestUDMUsernameSyntax(t *testing.T) {
	e, sim := newUDMEnv(t)
	e.ldif(limitsLDIF("long@example"))
	const longDN = "cn=Long Uid,ou=people,dc=example,dc=com"

	out := e.must(0, "plan", "--out", e.path("limits.plan"))
	ws := warningLines(out, longDN)
	if len(ws) != 1 {
		t.Fatalf("plan warns %d times about %s, want once:\n%s", len(ws), longDN, out)
	}
	wantContains(t, ws[0], "is left out of the plan", `its username "long@example"`, "'@' (U+0040)", "uid_umlauts", "groups that hold it are planned without it")
	applied := e.must(0, "apply", e.path("limits.plan"))
	wantContains(t, applied, "Apply complete!")
	if g := udmGroup(sim, "limits"); g == nil || !slices.Equal(udmList(g, "users"), []string{userDN("alice")}) {
		t.Fatalf("group limits = %+v; want alice in it", g)
	}
	if udmUser(sim, "long@example") != nil {
		t.Error("UCS holds the refused username")
	}
	again := e.must(0, "plan", "--detailed-exitcode")
	wantContains(t, again, "No changes.")
	if got := warningLines(again, longDN); !slices.Equal(got, ws) {
		t.Errorf("second plan's warnings about the user = %q, want the first plan's %q", got, ws)
	}
}
