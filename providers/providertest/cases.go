package providertest

import (
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ldapply/ldapply/fixtures/fault"
	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/state"
)

// SeedCases runs the ten test cases of the UCS connector seed, one
// after the other on one directory: add, modify, rename and delete of
// a user and of a group, adding and removing a member. Each ends
// converged, with the target equal to the directory and the ids of the
// objects kept.
func SeedCases(t *testing.T, h Harness) {
	e := NewEnv(t, h)
	first := e.Sync()
	WantChanges(t, first, "create user alice", "create user bob", "create user carol", "create user dave", "create user erin",
		"create user frank", "create user grace", "create group ops", "create group dev", "create group all-staff")

	e.Run(t, "add_user", func(t *testing.T) {
		e.LDIF(userLDIF("ivan", "Ivan", "Ivanov"))
		WantChanges(t, e.Sync(), "create user ivan")
	})
	e.Run(t, "modify_user", func(t *testing.T) {
		before := e.Find(plan.KindUser, "bob")
		e.LDIF(`dn: uid=bob,ou=people,dc=example,dc=com
changetype: modify
replace: mail
mail: robert@example.com
-
replace: cn
cn: Robert Baker
-
replace: sn
sn: Bakerman
-
add: description
description: Night shift
-
`)
		WantChanges(t, e.Sync(), "update user bob")
		if after := e.Find(plan.KindUser, "bob"); after.ID != before.ID {
			t.Errorf("bob's id changed from %s to %s", before.ID, after.ID)
		}
	})
	e.Run(t, "rename_user", func(t *testing.T) {
		before := e.Find(plan.KindUser, "carol")
		e.LDIF("dn: uid=carol,ou=people,dc=example,dc=com\nchangetype: modrdn\nnewrdn: uid=caroline\ndeleteoldrdn: 1\n")
		WantChanges(t, e.Sync(), "rename user caroline")
		if after := e.Find(plan.KindUser, "caroline"); after.ID != before.ID {
			t.Errorf("caroline has id %s, want carol's %s", after.ID, before.ID)
		}
	})
	e.Run(t, "delete_user", func(t *testing.T) {
		e.LDIF("dn: uid=ivan,ou=people,dc=example,dc=com\nchangetype: delete\n")
		WantChanges(t, e.Sync(), "delete user ivan")
	})
	e.Run(t, "add_group", func(t *testing.T) {
		e.LDIF(`dn: cn=sre,ou=groups,dc=example,dc=com
objectClass: groupOfNames
cn: sre
description: Site reliability
member: uid=alice,ou=people,dc=example,dc=com
member: uid=dave,ou=people,dc=example,dc=com
`)
		WantChanges(t, e.Sync(), "create group sre")
	})
	e.Run(t, "modify_group", func(t *testing.T) {
		e.LDIF(`dn: cn=dev,ou=groups,dc=example,dc=com
changetype: modify
add: member
member: uid=grace,ou=people,dc=example,dc=com
-
replace: description
description: Developers
-
`)
		if e.H.Flatten {
			WantChanges(t, e.Sync(), "update group dev", "update group all-staff")
		} else {
			WantChanges(t, e.Sync(), "update group dev")
		}
	})
	e.Run(t, "rename_group", func(t *testing.T) {
		// dev is nested in all-staff: one run renames it, and all-staff
		// holds it under its new name.
		before := e.Find(plan.KindGroup, "dev")
		e.LDIF("dn: cn=dev,ou=groups,dc=example,dc=com\nchangetype: modrdn\nnewrdn: cn=developers\ndeleteoldrdn: 1\n")
		WantChanges(t, e.Sync(), "rename group developers")
		if after := e.Find(plan.KindGroup, "developers"); after.ID != before.ID {
			t.Errorf("developers has id %s, want dev's %s", after.ID, before.ID)
		}
	})
	e.Run(t, "delete_group", func(t *testing.T) {
		e.LDIF("dn: cn=sre,ou=groups,dc=example,dc=com\nchangetype: delete\n")
		WantChanges(t, e.Sync(), "delete group sre")
		// Converged checked that its members alice and dave are still there.
	})
	e.Run(t, "add_member", func(t *testing.T) {
		e.LDIF("dn: cn=ops,ou=groups,dc=example,dc=com\nchangetype: modify\nadd: member\nmember: uid=dave,ou=people,dc=example,dc=com\n-\n")
		WantChanges(t, e.Sync(), "update group ops")
	})
	e.Run(t, "remove_member", func(t *testing.T) {
		e.LDIF("dn: cn=ops,ou=groups,dc=example,dc=com\nchangetype: modify\ndelete: member\nmember: uid=alice,ou=people,dc=example,dc=com\n-\n")
		if e.H.Flatten {
			// alice was in all-staff through ops alone.
			WantChanges(t, e.Sync(), "update group ops", "update group all-staff")
		} else {
			WantChanges(t, e.Sync(), "update group ops")
		}
	})
}

// AdoptAfterLostState loses the state after a sync: the next plan
// adopts every object where it is, at the id derived from its key or
// found by its key, and creates none; an object changed in the target
// meanwhile is adopted and set back. After the apply the target holds
// each object once, at the same id.
func AdoptAfterLostState(t *testing.T, h Harness) {
	e := NewEnv(t, h)
	e.Sync()
	before := e.Sim.Objects()
	m := h.Managed
	e.Sim.Set(m.Kind, m.Object, m.Name, m.Values[0])
	e.State = state.File{Path: filepath.Join(t.TempDir(), "new.state")}
	p := e.MustPlan()
	if len(p.Changes) != len(before) {
		t.Errorf("plan after a lost state: %s; want one adoption for each of the %d objects", describe(p), len(before))
	}
	for i := range p.Changes {
		c := &p.Changes[i]
		switch {
		case c.Action != plan.Adopt:
			t.Errorf("plan after a lost state wants to %s %s %s; want adopt", c.Action, c.Kind, c.Name())
		case c.Kind == m.Kind && c.Name() == m.Object && (c.After == nil || c.Before == nil || plan.Equal(c.Before, c.After)):
			t.Errorf("the adoption of %s %s does not set back %s changed in the target", c.Kind, c.Name(), m.Name)
		}
	}
	e.MustApply(p)
	e.Converged()
	ids := map[string]string{}
	for _, o := range before {
		ids[string(o.Kind)+" "+o.Name] = o.ID
	}
	after := e.Sim.Objects()
	if len(after) != len(before) {
		t.Errorf("the target holds %d objects after the adoption, %d before", len(after), len(before))
	}
	for _, o := range after {
		if id := ids[string(o.Kind)+" "+o.Name]; id != o.ID {
			t.Errorf("%s %s has id %s after the adoption, %s before", o.Kind, o.Name, o.ID, id)
		}
	}
}

// Unmanaged checks that ldapply leaves alone what it does not manage:
// hand-made users and groups (a managed user in a hand-made group
// included), hand-made members of a managed group (a user, and a group
// where groups nest), and a property it does not map; they make no
// plan, survive changes of the objects around them, and survive the
// deletion of every managed object but one.
func Unmanaged(t *testing.T, h Harness) {
	e := NewEnv(t, h)
	e.Sync()
	u := e.H.Unmanaged
	e.Sim.Set(u.Kind, u.Object, u.Name, u.Values[0])
	e.expectProp(u.Kind, u.Object, u.Name, u.Values[0])
	if !e.H.Directory {
		m := e.H.Managed
		e.Sim.Set(m.Kind, m.Object, m.Name, m.Values[0])
		WantChanges(t, e.Sync(), "update "+string(m.Kind)+" "+m.Object)
		if got := e.Find(u.Kind, u.Object).Props[u.Name]; got != u.Values[0] {
			t.Errorf("%s %s has %s %q after the sync, want %q as set by hand", u.Kind, u.Object, u.Name, got, u.Values[0])
		}
		return
	}
	e.Seed(Object{Kind: plan.KindUser, Name: "hand"})
	e.Seed(Object{Kind: plan.KindGroup, Name: "handgroup", Members: []string{"alice", "hand"}})
	e.Sim.AddMember("ops", "hand")
	if !e.H.Flatten {
		e.Sim.AddMember("ops", "handgroup")
	}
	if p := e.MustPlan(); len(p.Changes) > 0 {
		t.Errorf("hand-made objects and members make a plan: %s", describe(p))
	}
	e.LDIF(`dn: uid=alice,ou=people,dc=example,dc=com
changetype: modify
replace: mail
mail: alice.archer@example.com
-

dn: uid=bob,ou=people,dc=example,dc=com
changetype: modify
replace: mail
mail: robert@example.com
-

dn: cn=ops,ou=groups,dc=example,dc=com
changetype: modify
add: member
member: uid=dave,ou=people,dc=example,dc=com
-
delete: member
member: uid=bob,ou=people,dc=example,dc=com
-

dn: uid=erin,ou=people,dc=example,dc=com
changetype: delete
`)
	e.Sync() // checks the hand-made objects are as seeded
	ops := e.Find(plan.KindGroup, "ops")
	if !slices.Contains(ops.Members, "hand") || !slices.Contains(ops.Members, "dave") || slices.Contains(ops.Members, "bob") {
		t.Errorf("ops has members %v, want dave added, bob removed and the hand-made hand kept", ops.Members)
	}
	if !e.H.Flatten && !slices.Contains(ops.Members, "handgroup") {
		t.Errorf("ops has members %v, want the hand-made handgroup kept", ops.Members)
	}
	if got := e.Find(u.Kind, u.Object).Props[u.Name]; got != u.Values[0] {
		t.Errorf("%s %s has %s %q after the sync, want %q as set by hand", u.Kind, u.Object, u.Name, got, u.Values[0])
	}
	// Deleting all but alice from the directory deletes no hand-made
	// object (Converged compares them with what was seeded).
	var gone strings.Builder
	for _, dn := range []string{"cn=ops,ou=groups", "cn=dev,ou=groups", "cn=all-staff,ou=groups", "uid=bob,ou=people",
		"uid=carol,ou=people", "uid=dave,ou=people", "uid=frank,ou=people", "uid=grace,ou=people"} {
		gone.WriteString("dn: " + dn + ",dc=example,dc=com\nchangetype: delete\n\n")
	}
	e.LDIF(gone.String())
	WantChanges(t, e.Sync(), "delete group ops", "delete group dev", "delete group all-staff", "delete user bob",
		"delete user carol", "delete user dave", "delete user frank", "delete user grace")
}

// expectProp records a property set by hand on an object whose state
// the suite compares against the first sync's.
func (e *Env) expectProp(kind plan.Kind, name, prop, value string) {
	for i, o := range e.baseline {
		if o.Kind == kind && o.Name == name {
			e.baseline[i].Props[prop] = value
		}
	}
}

// DriftBetweenPlanAndApply changes in the target an object that a plan
// changes, between the plan and its apply: the apply refuses, with a
// message naming the object and saying to plan again, and writes
// nothing to it; a new plan fixes the object.
func DriftBetweenPlanAndApply(t *testing.T, h Harness) {
	e := NewEnv(t, h)
	e.Sync()
	m := e.H.Managed
	e.Sim.Set(m.Kind, m.Object, m.Name, m.Values[0])
	p := e.MustPlan()
	WantChanges(t, p, "update "+string(m.Kind)+" "+m.Object)
	e.Sim.Set(m.Kind, m.Object, m.Name, m.Values[1])
	res, err := e.Apply(p)
	switch {
	case err == nil:
		t.Fatalf("apply of a plan whose object changed in the target since succeeded (%d done)", len(res.Done))
	case !errorsIs(err, e.H.ErrDrift):
		t.Fatalf("apply refused with %q, which does not wrap %q", err, e.H.ErrDrift)
	case !strings.Contains(err.Error(), m.Object) || !strings.Contains(err.Error(), "run plan again"):
		t.Errorf("apply's refusal %q does not name %s or does not say to run plan again", err, m.Object)
	}
	if got := e.Find(m.Kind, m.Object).Props[m.Name]; got != m.Values[1] {
		t.Errorf("%s %s has %s %q after the refused apply, want %q as changed in the target", m.Kind, m.Object, m.Name, got, m.Values[1])
	}
	WantChanges(t, e.Sync(), "update "+string(m.Kind)+" "+m.Object)
}

// faultCase is one change made while requests of class op fail.
type faultCase struct {
	name   string
	op     Op
	change func(e *Env)
	want   string // the plan's one change
}

// transient is a fault that fails four requests in a row with 503
// and asks for the retry at once (the suite must stay fast).
var transient = fault.Fault{Status: 503, Message: "Service Unavailable", RetryAfter: "0", Count: 4}

// Transient fails four requests in a row with 503, on reads, on the
// write of each kind of change, and on login: with five attempts in all
// for a request that is safe to repeat, each run succeeds.
func Transient(t *testing.T, h Harness) {
	m := h.Managed
	update := "update " + string(m.Kind) + " " + m.Object
	cases := []faultCase{
		{"read", Read, func(e *Env) { e.Sim.Set(m.Kind, m.Object, m.Name, m.Values[0]) }, update},
		{"update", Update, func(e *Env) { e.Sim.Set(m.Kind, m.Object, m.Name, m.Values[0]) }, update},
	}
	if h.Directory {
		cases = append(cases,
			faultCase{"create", Create, func(e *Env) { e.LDIF(userLDIF("heidi", "Heidi", "Hill")) }, "create user heidi"},
			faultCase{"delete", Delete, func(e *Env) { e.LDIF("dn: uid=grace,ou=people,dc=example,dc=com\nchangetype: delete\n") }, "delete user grace"})
	}
	if h.Login {
		cases = append(cases, faultCase{"login", Login, func(e *Env) { e.Sim.Set(m.Kind, m.Object, m.Name, m.Values[0]) }, update})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := NewEnv(t, h)
			e.Sync()
			c.change(e)
			served := e.served(transient.Status)
			e.Sim.Fault(c.op, transient)
			WantChanges(t, e.Sync(), c.want)
			if n := served(); n != transient.Count {
				t.Errorf("%d %s requests were answered %d, want %d: the harness's fault does not hit them", n, c.op, transient.Status, transient.Count)
			}
		})
	}
}

// served returns a function that counts the answers with status since
// the call.
func (e *Env) served(status int) func() int {
	count := func() int {
		n := 0
		for _, s := range e.Sim.Answers() {
			if s == status {
				n++
			}
		}
		return n
	}
	before := count()
	return func() int { return count() - before }
}

// LostAnswer lets a create and an update land in the target and loses
// the answer (a 502, or the connection dropped): either the apply
// succeeds, or it fails that change and the next plan finishes it;
// either way the object is there once, as desired.
func LostAnswer(t *testing.T, h Harness) {
	m := h.Managed
	for _, lost := range []struct {
		name string
		f    fault.Fault
	}{
		{"502", fault.Fault{Status: 502, Message: "Bad Gateway", AfterWrite: true, Count: 1}},
		{"drop", fault.Fault{Drop: true, AfterWrite: true, Count: 1}},
	} {
		if h.Directory {
			t.Run("create_"+lost.name, func(t *testing.T) {
				t.Parallel()
				e := NewEnv(t, h)
				e.Sync()
				e.LDIF(userLDIF("heidi", "Heidi", "Hill"))
				e.applyAndFinish(Create, lost.f, "create user heidi")
			})
		}
		t.Run("update_"+lost.name, func(t *testing.T) {
			t.Parallel()
			e := NewEnv(t, h)
			e.Sync()
			e.Sim.Set(m.Kind, m.Object, m.Name, m.Values[0])
			e.applyAndFinish(Update, lost.f, "update "+string(m.Kind)+" "+m.Object)
		})
	}
}

// applyAndFinish plans (the plan must hold want alone) and applies with
// the lost answer f on requests of class op; a failed apply is followed
// by one more plan and apply, which must succeed. It ends converged.
func (e *Env) applyAndFinish(op Op, f fault.Fault, want string) {
	e.T.Helper()
	p := e.MustPlan()
	WantChanges(e.T, p, want)
	served := e.served(f.SentStatus())
	e.Sim.Fault(op, f)
	_, err := e.Apply(p)
	if served() == 0 {
		e.T.Errorf("no %s request lost its answer: the harness's fault does not hit them", op)
	}
	if err != nil {
		e.T.Logf("apply after a lost answer failed, as it may: %v", err)
		next := e.MustPlan()
		for i := range next.Changes {
			if c := &next.Changes[i]; c.Action == plan.Create {
				e.T.Errorf("the plan after a lost answer creates %s %s again; want it adopted", c.Kind, c.Name())
			}
		}
		e.MustApply(next)
	}
	e.Converged()
}

// Contention runs a first sync at Parallelism against a target that
// answers contending writes the way the real one does (Harness.Contend):
// no change fails, and the target equals the directory.
func Contention(t *testing.T, h Harness) {
	e := NewEnv(t, h)
	h.Contend(e.Sim)
	p := e.MustPlan()
	res, err := e.Apply(p)
	if err != nil {
		t.Fatalf("apply under contention: %v", err)
	}
	if len(res.Failed) > 0 || res.Skipped > 0 {
		t.Fatalf("apply under contention: %d of %d changes failed, %d not started", len(res.Failed), len(p.Changes), res.Skipped)
	}
	contended := 0
	for _, s := range e.Sim.Answers() {
		if s == http.StatusInternalServerError || s == http.StatusTooManyRequests || s == http.StatusServiceUnavailable {
			contended++
		}
	}
	if contended == 0 {
		t.Fatalf("the target answered no write with a sign of contention (500, 429, 503): the case tested nothing")
	}
	e.Converged()
}
