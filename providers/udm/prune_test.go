package udm_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ldapply/ldapply/apply"
	"github.com/ldapply/ldapply/fixtures/udmsim"
	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/providers"
	"github.com/ldapply/ldapply/providers/udm"
)

// bindings is an apply.Recorder that keeps the bindings in memory.
type bindings struct {
	mu sync.Mutex
	plan.Bindings
}

func (b *bindings) Put(x plan.Binding) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.Add(x)
	return nil
}

func (b *bindings) Remove(k plan.Kind, key string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.Bindings[k], key)
	return nil
}

type pruneEnv struct {
	sim             *udmsim.Server
	p               *udm.Provider
	userOU, groupOU string
}

func newPruneEnv(t *testing.T) *pruneEnv {
	t.Helper()
	sim, url := udmsim.Start(t, udmsim.Options{Users: map[string]string{"svc": "pw"}})
	e := &pruneEnv{sim: sim, userOU: "cn=users," + sim.Base(), groupOU: "cn=groups," + sim.Base()}
	cfg := udm.Config{URL: url, AllowInsecure: true, Username: "svc", Password: "pw", UserOU: e.userOU, GroupOU: e.groupOU}
	if err := cfg.Resolve("inetorgperson"); err != nil {
		t.Fatal(err)
	}
	var err error
	if e.p, err = udm.New(cfg, providers.Env{Version: "test"}); err != nil {
		t.Fatal(err)
	}
	return e
}

func user(uid string) *plan.Entry {
	dn := "uid=" + uid + ",ou=people,o=src"
	return &plan.Entry{DN: dn, NormDN: dn, Key: "k-" + uid, Attrs: map[string][]string{"uid": {uid}, "sn": {uid}}}
}

func group(cn string, members ...string) *plan.Entry {
	dn := "cn=" + cn + ",ou=groups,o=src"
	return &plan.Entry{DN: dn, NormDN: dn, Key: "k-" + cn, Attrs: map[string][]string{"cn": {cn}}, Members: plan.NewDNs(members...)}
}

// directory is alice, bob and carol, all three in ops and in dev; all
// holds ops (nested) and alice.
func directory() *plan.Directory {
	alice, bob, carol := user("alice"), user("bob"), user("carol")
	ops := group("ops", alice.NormDN, bob.NormDN, carol.NormDN)
	return &plan.Directory{Users: []*plan.Entry{alice, bob, carol}, Groups: []*plan.Entry{
		ops, group("dev", alice.NormDN, bob.NormDN, carol.NormDN), group("all", ops.NormDN, alice.NormDN),
	}}
}

// members returns the usernames and group names that the group named
// name holds in UCS, sorted.
func (e *pruneEnv) members(t *testing.T, name string) []string {
	t.Helper()
	g := e.sim.Find(udmsim.Groups, "name", name)
	if g == nil {
		t.Fatalf("group %s is not in UCS", name)
	}
	var out []string
	for _, l := range []string{"users", "nestedGroup"} {
		b, _ := json.Marshal(g.Properties[l])
		var dns []string
		if err := json.Unmarshal(b, &dns); err != nil {
			t.Fatalf("group %s has %s %s", name, l, b)
		}
		for _, dn := range dns {
			rdn, _, _ := strings.Cut(dn, ",")
			out = append(out, rdn)
		}
	}
	slices.Sort(out)
	return out
}

// TestPruneApply: a user whose create fails is left out of the new group
// and of the group update that hold it; both are written with the
// others, and the next plan adds it, after which nothing is left to do.
func TestPruneApply(t *testing.T) {
	e := newPruneEnv(t)
	ctx := context.Background()
	// alice and dev (holding her) exist; ldapply manages both.
	aliceDN := e.sim.Seed(udmsim.Users, e.userOU, map[string]any{"username": "alice", "lastname": "alice", "univentionObjectIdentifier": "k-alice"})
	e.sim.Seed(udmsim.Groups, e.groupOU, map[string]any{"name": "dev", "users": []any{aliceDN}, "univentionObjectIdentifier": "k-dev"})
	rec := &bindings{Bindings: plan.Bindings{}}
	rec.Add(plan.Binding{Kind: plan.KindUser, Key: "k-alice", ID: "k-alice", Name: "alice"})
	rec.Add(plan.Binding{Kind: plan.KindGroup, Key: "k-dev", ID: "k-dev", Name: "dev"})
	pl, err := e.p.Plan(ctx, directory(), rec.Bindings)
	if err != nil {
		t.Fatal(err)
	}
	// One at a time, the first user create in the plan is the first POST.
	var doomed string
	for _, c := range pl.Changes {
		if c.Kind == plan.KindUser && c.Action == plan.Create {
			doomed = c.Name()
			break
		}
	}
	other := map[string]string{"bob": "carol", "carol": "bob"}[doomed]
	e.sim.Inject(udmsim.Fault{Method: "POST", Path: udmsim.Users, Status: 422, Message: "Invalid", Count: 1})
	res, err := apply.Run(ctx, pl, e.p, rec, apply.Options{Parallelism: 1})
	if err == nil || len(res.Failed) != 1 || res.Failed[0].Change.Name() != doomed {
		t.Fatalf("Run = %v, failed %v; want %s's create alone to fail", err, res.Failed, doomed)
	}
	var degraded []string
	for _, d := range res.Degraded {
		degraded = append(degraded, d.Change.Name()+" without "+strings.Join(d.Without, ","))
	}
	slices.Sort(degraded)
	if d := cmp.Diff([]string{"dev without " + doomed, "ops without " + doomed}, degraded); d != "" {
		t.Errorf("degraded (-want +got):\n%s", d)
	}
	for _, g := range []string{"ops", "dev"} {
		if got := e.members(t, g); !slices.Equal(got, []string{"uid=alice", "uid=" + other}) {
			t.Errorf("group %s holds %v, want alice and %s", g, got, other)
		}
	}
	if got := e.members(t, "all"); !slices.Equal(got, []string{"cn=ops", "uid=alice"}) {
		t.Errorf("group all holds %v, want ops and alice", got)
	}

	// The fault is spent: the next plan creates the user and adds it.
	if pl, err = e.p.Plan(ctx, directory(), rec.Bindings); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range pl.Changes {
		got = append(got, c.Action.String()+" "+c.Name())
	}
	slices.Sort(got)
	if d := cmp.Diff([]string{"create " + doomed, "update dev", "update ops"}, got); d != "" {
		t.Errorf("second plan (-want +got):\n%s", d)
	}
	if _, err := apply.Run(ctx, pl, e.p, rec, apply.Options{}); err != nil {
		t.Fatal(err)
	}
	for _, g := range []string{"ops", "dev"} {
		if got := e.members(t, g); !slices.Equal(got, []string{"uid=alice", "uid=bob", "uid=carol"}) {
			t.Errorf("group %s holds %v, want alice, bob and carol", g, got)
		}
	}
	if pl, err = e.p.Plan(ctx, directory(), rec.Bindings); err != nil || len(pl.Changes) != 0 {
		t.Errorf("third plan: %v, %d changes; want none", err, len(pl.Changes))
	}
}

// TestPrune covers Prune on planned changes: a nested group whose create
// failed, a user change, and a change that names nothing that failed.
func TestPrune(t *testing.T) {
	e := newPruneEnv(t)
	pl, err := e.p.Plan(context.Background(), directory(), plan.Bindings{})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*plan.Change{}
	for i := range pl.Changes {
		byName[pl.Changes[i].Name()] = &pl.Changes[i]
	}
	all := byName["all"]
	pruned, left, err := e.p.Prune(all, map[string]bool{"k-ops": true, "k-bob": true})
	if err != nil || !slices.Equal(left, []string{"k-ops"}) {
		t.Fatalf("Prune of all without ops = %v, %v", left, err)
	}
	want := map[string][]string{"users": {"k-alice"}, "nestedGroup": {}}
	if d := cmp.Diff(want, pruned.After.Lists); d != "" {
		t.Errorf("pruned lists (-want +got):\n%s", d)
	}
	if len(all.After.Lists["nestedGroup"]) != 1 {
		t.Errorf("planned lists %v: want ops left out of the copy alone", all.After.Lists)
	}

	for _, name := range []string{"bob", "dev"} {
		c := byName[name]
		if got, left, err := e.p.Prune(c, map[string]bool{"k-ops": true}); got != c || left != nil || err != nil {
			t.Errorf("Prune of %s = %v, %v; want the change itself", name, left, err)
		}
	}
}
