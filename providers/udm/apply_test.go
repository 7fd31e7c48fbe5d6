package udm_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ldapply/ldapply/apply"
	"github.com/ldapply/ldapply/fixtures/udmsim"
	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/providers/providertest"
	"github.com/ldapply/ldapply/providers/udm"
)

// named is a source user with key k-<key> and uid uid.
func named(key, uid string) *plan.Entry {
	e := user(uid)
	e.Key = "k-" + key
	return e
}

// seedAlice puts alice, managed, into UCS with lastname "Old" and returns
// her DN and the bindings.
func (e *pruneEnv) seedAlice(extra map[string]any) (string, *bindings) {
	props := map[string]any{"username": "alice", "lastname": "Old", "univentionObjectIdentifier": "k-alice"}
	for k, v := range extra {
		props[k] = v
	}
	dn := e.sim.Seed(udmsim.Users, e.userOU, props)
	rec := &bindings{Bindings: plan.Bindings{}}
	rec.Add(plan.Binding{Kind: plan.KindUser, Key: "k-alice", ID: "k-alice", Name: "alice"})
	return dn, rec
}

// TestApplySendsTheChange: the managed properties UCS stores are those
// of the change as reviewed (After), for an update and for a group's
// members on create, not values kept from anywhere else.
func TestApplySendsTheChange(t *testing.T) {
	e := newPruneEnv(t)
	ctx := context.Background()
	aliceDN, rec := e.seedAlice(nil)
	alice, bob := user("alice"), user("bob")
	dir := &plan.Directory{Users: []*plan.Entry{alice, bob}, Groups: []*plan.Entry{group("ops", alice.NormDN, bob.NormDN)}}
	pl, err := e.p.Plan(ctx, dir, rec.Bindings)
	if err != nil {
		t.Fatal(err)
	}
	for i := range pl.Changes {
		switch c := &pl.Changes[i]; c.Name() {
		case "alice":
			c.After.Attrs["lastname"] = "Reviewed"
		case "ops":
			c.After.Lists["users"] = []string{"k-alice"}
		}
	}
	if _, err := apply.Run(ctx, pl, e.p, rec, apply.Options{}); err != nil {
		t.Fatal(err)
	}
	if got := e.sim.Get(aliceDN).Properties["lastname"]; got != "Reviewed" {
		t.Errorf("alice's lastname is %v; want Reviewed, as the change's After says", got)
	}
	if got := e.members(t, "ops"); !slices.Equal(got, []string{"uid=alice"}) {
		t.Errorf("ops holds %v; want alice alone, as the change's After lists", got)
	}
}

// TestApplyKeepsUnmanaged: a property ldapply does not manage, changed
// by hand between plan and apply, is neither drift nor overwritten: the
// PUT sends the object as UCS holds it at apply, with the managed
// properties of the change.
func TestApplyKeepsUnmanaged(t *testing.T) {
	e := newPruneEnv(t)
	ctx := context.Background()
	aliceDN, rec := e.seedAlice(map[string]any{"displayName": "Seeded"})
	pl, err := e.p.Plan(ctx, &plan.Directory{Users: []*plan.Entry{user("alice")}}, rec.Bindings)
	if err != nil {
		t.Fatal(err)
	}
	if len(pl.Changes) != 1 || pl.Changes[0].Action != plan.Update {
		t.Fatalf("changes %+v; want alice's update", pl.Changes)
	}
	e.sim.Modify(aliceDN, map[string]any{"displayName": "By Hand"})
	if _, err := apply.Run(ctx, pl, e.p, rec, apply.Options{}); err != nil {
		t.Fatal(err)
	}
	props := e.sim.Get(aliceDN).Properties
	if props["displayName"] != "By Hand" || props["lastname"] != "alice" {
		t.Errorf("alice has displayName %v and lastname %v; want By Hand (as set by hand) and alice (the change's)", props["displayName"], props["lastname"])
	}
	var put map[string]any
	for _, r := range e.sim.Requests() {
		if r.Method == "PUT" {
			if err := json.Unmarshal([]byte(r.Body), &put); err != nil {
				t.Fatal(err)
			}
		}
	}
	if p, _ := put["properties"].(map[string]any); p["displayName"] != "By Hand" {
		t.Errorf("the PUT sent displayName %v; want By Hand, as read at apply", p["displayName"])
	}
}

// TestApplyMemberDNsAfterRenames: in one apply, a group names a user
// renamed and a user created before it by their new DNs, and a group
// whose nested group is renamed in the same phase names it by its new
// DN; UDM ends with each member once, and the next plan is empty.
func TestApplyMemberDNsAfterRenames(t *testing.T) {
	e := newPruneEnv(t)
	ctx := context.Background()
	aliceDN, rec := e.seedAlice(nil)
	opsDN := e.sim.Seed(udmsim.Groups, e.groupOU, map[string]any{"name": "ops", "users": []any{aliceDN}, "univentionObjectIdentifier": "k-ops"})
	e.sim.Seed(udmsim.Groups, e.groupOU, map[string]any{"name": "all", "nestedGroup": []any{opsDN}, "univentionObjectIdentifier": "k-all"})
	rec.Add(plan.Binding{Kind: plan.KindGroup, Key: "k-ops", ID: "k-ops", Name: "ops"})
	rec.Add(plan.Binding{Kind: plan.KindGroup, Key: "k-all", ID: "k-all", Name: "all"})
	dir := func() *plan.Directory {
		alicia, bob := named("alice", "alicia"), user("bob")
		ops := group("operations", alicia.NormDN, bob.NormDN)
		ops.Key = "k-ops"
		return &plan.Directory{Users: []*plan.Entry{alicia, bob}, Groups: []*plan.Entry{ops, group("all", ops.NormDN, bob.NormDN)}}
	}
	pl, err := e.p.Plan(ctx, dir(), rec.Bindings)
	if err != nil {
		t.Fatal(err)
	}
	providertest.WantChanges(t, pl, "create user bob", "rename user alicia", "rename group operations", "update group all")
	if _, err := apply.Run(ctx, pl, e.p, rec, apply.Options{Parallelism: 4}); err != nil {
		t.Fatal(err)
	}
	if got := e.members(t, "operations"); !slices.Equal(got, []string{"uid=alicia", "uid=bob"}) {
		t.Errorf("operations holds %v; want alicia and bob", got)
	}
	if got := e.members(t, "all"); !slices.Equal(got, []string{"cn=operations", "uid=bob"}) {
		t.Errorf("all holds %v; want operations and bob", got)
	}
	for _, o := range e.sim.Objects(udmsim.Groups) {
		if b, _ := json.Marshal(o.Properties); strings.Contains(string(b), "uid=alice,") || strings.Contains(string(b), "cn=ops,") {
			t.Errorf("group %s still names an old DN: %s", o.DN, b)
		}
	}
	if pl, err := e.p.Plan(ctx, dir(), rec.Bindings); err != nil || len(pl.Changes) != 0 {
		t.Errorf("the next plan: %v, %d changes; want none", err, len(pl.Changes))
	}
}

// TestApplyGroupListForms: a group's PUT names the members After lists,
// whether the change holds its lists whole (as Plan makes them) or as
// their difference (as a plan file of format 3 stores them).
func TestApplyGroupListForms(t *testing.T) {
	ctx := context.Background()
	for _, form := range []string{"whole", "difference"} {
		t.Run(form, func(t *testing.T) {
			e := newPruneEnv(t)
			rec := &bindings{Bindings: plan.Bindings{}}
			var dns []any
			for _, name := range []string{"alice", "bob", "carol"} {
				dn := e.sim.Seed(udmsim.Users, e.userOU, map[string]any{"username": name, "lastname": name, "univentionObjectIdentifier": "k-" + name})
				rec.Add(plan.Binding{Kind: plan.KindUser, Key: "k-" + name, ID: "k-" + name, Name: name})
				if name != "bob" {
					dns = append(dns, dn)
				}
			}
			e.sim.Seed(udmsim.Groups, e.groupOU, map[string]any{"name": "ops", "users": dns, "univentionObjectIdentifier": "k-ops"})
			rec.Add(plan.Binding{Kind: plan.KindGroup, Key: "k-ops", ID: "k-ops", Name: "ops"})
			alice, bob, carol := user("alice"), user("bob"), user("carol")
			dir := &plan.Directory{Users: []*plan.Entry{alice, bob, carol}, Groups: []*plan.Entry{group("ops", alice.NormDN, bob.NormDN)}}
			pl, err := e.p.Plan(ctx, dir, rec.Bindings)
			if err != nil {
				t.Fatal(err)
			}
			if len(pl.Changes) != 1 || pl.Changes[0].Action != plan.Update {
				t.Fatalf("changes %+v; want the update of ops", pl.Changes)
			}
			if c := &pl.Changes[0]; form == "difference" {
				c.Before.Lists = map[string][]string{"users": {"k-carol"}}
				c.After.Lists = map[string][]string{"users": {"k-bob"}}
			}
			if _, err := apply.Run(ctx, pl, e.p, rec, apply.Options{}); err != nil {
				t.Fatal(err)
			}
			if got := e.members(t, "ops"); !slices.Equal(got, []string{"uid=alice", "uid=bob"}) {
				t.Errorf("ops holds %v; want alice and bob", got)
			}
		})
	}
}

// TestApplyGroupReadBeforeNestedRename: the update of a group is read
// from UCS just before this apply renames a group nested in it, and
// checked just after (UDM rewrote the nested DN, and the index already
// has the new one). The stale read names the nested group by its old DN,
// which is still that group: the update is written, not drift. Likewise
// when a second nested group is renamed between the re-read after the
// first 412 and its PUT. A change by someone else, made alongside, is
// still drift and nothing is written.
func TestApplyGroupReadBeforeNestedRename(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		renames []string // groups nested in all this apply renames, each
		// in the window of one read of all
		byHand      bool // someone takes dev out of all in the first window
		wantErr     error
		wantMembers []string
	}{
		{"one rename", []string{"ops"}, false, nil, []string{"cn=dev", "cn=ops-new", "uid=alice"}},
		{"two renames", []string{"ops", "dev"}, false, nil, []string{"cn=dev-new", "cn=ops-new", "uid=alice"}},
		{"rename and a change by hand", []string{"ops"}, true, udm.ErrDrift, []string{"cn=ops-new"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newPruneEnv(t)
			_, rec := e.seedAlice(map[string]any{"lastname": "alice"})
			var nested []any
			groups := map[string]*plan.Entry{}
			for _, name := range []string{"ops", "dev"} {
				nested = append(nested, e.sim.Seed(udmsim.Groups, e.groupOU, map[string]any{"name": name, "univentionObjectIdentifier": "k-" + name}))
				rec.Add(plan.Binding{Kind: plan.KindGroup, Key: "k-" + name, ID: "k-" + name, Name: name})
				groups[name] = group(name)
			}
			allDN := e.sim.Seed(udmsim.Groups, e.groupOU, map[string]any{"name": "all", "nestedGroup": nested, "univentionObjectIdentifier": "k-all"})
			rec.Add(plan.Binding{Kind: plan.KindGroup, Key: "k-all", ID: "k-all", Name: "all"})
			want := []string{"update group all"}
			for _, name := range tc.renames {
				g := group(name + "-new")
				g.Key = "k-" + name
				groups[name] = g
				want = append(want, "rename group "+name+"-new")
			}
			alice := user("alice")
			dir := &plan.Directory{Users: []*plan.Entry{alice}, Groups: []*plan.Entry{
				groups["ops"], groups["dev"], group("all", groups["ops"].NormDN, groups["dev"].NormDN, alice.NormDN),
			}}
			pl, err := e.p.Plan(ctx, dir, rec.Bindings)
			if err != nil {
				t.Fatal(err)
			}
			providertest.WantChanges(t, pl, want...)
			e.p.Prepare(pl)
			changes := map[string]*plan.Change{}
			for i := range pl.Changes {
				changes[pl.Changes[i].ID] = &pl.Changes[i]
			}
			for i, name := range tc.renames {
				e.sim.After("GET", udmsim.Groups+"/"+allDN, func() {
					if err := e.p.Apply(ctx, changes["k-"+name]); err != nil {
						t.Errorf("rename %s: %v", name, err)
					}
					if tc.byHand && i == 0 {
						e.sim.Modify(allDN, map[string]any{"nestedGroup": []any{"cn=ops-new," + e.groupOU}})
					}
				})
			}
			if err := e.p.Apply(ctx, changes["k-all"]); !errors.Is(err, tc.wantErr) {
				t.Errorf("update all: %v; want %v", err, tc.wantErr)
			}
			if got := e.members(t, "all"); !slices.Equal(got, tc.wantMembers) {
				t.Errorf("all holds %v; want %v", got, tc.wantMembers)
			}
		})
	}
}

// TestApplyMemberCreatedThisApply replays what the soak met (seed 1,
// udm/postgres, round 0, SIGKILL at a group write): a run killed between
// its group writes left group all naming ops by the DN ops would get,
// before ops existed. The next plan creates ops and adopts all, seeing
// that member as a DN it could not resolve; once the create has landed
// UCS's answer resolves to ops. That is the same member, not a change
// in UCS, and all must be written; a change by hand after the plan
// still stops the write.
func TestApplyMemberCreatedThisApply(t *testing.T) {
	ctx := context.Background()
	for _, byHand := range []bool{false, true} {
		t.Run(fmt.Sprintf("by hand %v", byHand), func(t *testing.T) {
			e := newPruneEnv(t)
			_, rec := e.seedAlice(map[string]any{"lastname": "alice"})
			allDN := e.sim.Seed(udmsim.Groups, e.groupOU, map[string]any{"name": "all", "nestedGroup": []any{"cn=ops," + e.groupOU}, "univentionObjectIdentifier": "k-all"})
			alice := user("alice")
			ops := group("ops", alice.NormDN)
			dir := &plan.Directory{Users: []*plan.Entry{alice}, Groups: []*plan.Entry{ops, group("all", ops.NormDN, alice.NormDN)}}
			pl, err := e.p.Plan(ctx, dir, rec.Bindings)
			if err != nil {
				t.Fatal(err)
			}
			providertest.WantChanges(t, pl, "create group ops", "adopt group all")
			e.p.Prepare(pl)
			byName := map[string]*plan.Change{}
			for i := range pl.Changes {
				byName[pl.Changes[i].Name()] = &pl.Changes[i]
			}
			if err := e.p.Apply(ctx, byName["ops"]); err != nil {
				t.Fatalf("create ops: %v", err)
			}
			want, wantErr := []string{"cn=ops", "uid=alice"}, error(nil)
			if byHand {
				e.sim.Modify(allDN, map[string]any{"description": "edited by hand"})
				want, wantErr = []string{"cn=ops"}, udm.ErrDrift
			}
			if err := e.p.Apply(ctx, byName["all"]); !errors.Is(err, wantErr) {
				t.Errorf("adopt all: %v; want %v", err, wantErr)
			}
			if got := e.members(t, "all"); !slices.Equal(got, want) {
				t.Errorf("all holds %v; want %v", got, want)
			}
		})
	}
}
