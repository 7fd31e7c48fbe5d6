// Package plantest holds plans that the tests and benchmarks of plan,
// planfile and their callers share.
package plantest

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/ldapply/ldapply/plan"
)

// SamplePlan covers every action, a long text change, a sensitive value,
// list changes with and without known names, a member that came through
// a nested group and one that leaves with one, deletes of an object
// with its values and of one without, and a warning.
func SamplePlan() *plan.Plan {
	p := &plan.Plan{
		ToolVersion:  "0.1.0-test",
		Created:      time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC),
		Lineage:      "3f0c1d9e-5b1a-4f55-a0a4-6f3e1c2d9b7a",
		Serial:       4,
		ConfigDigest: "sha256:abc",
		Source:       "ldaps://ldap.example.com",
		Target:       "icinga https://icinga.example.com/icingaweb2/notifications/api/v1",
		Counts:       map[string]int{"source users": 5, "source groups": 2},
		Refs: plan.Refs{
			Names: map[string]string{"u-alice": "alice", "u-bob": "bob", "u-dave": "dave"},
			Via:   map[plan.Via]string{{Owner: "g-ops", Member: "u-alice"}: "dev", {Owner: "g-ops", Member: "u-dave"}: "dev"},
		},
		Warnings: []string{`user uid=nomail,ou=people,dc=example,dc=com has no email address and is skipped`},
	}
	p.Changes = []plan.Change{
		{Action: plan.Create, Kind: plan.KindUser, Key: "k-alice", ID: "u-alice",
			After: &plan.Object{Kind: plan.KindUser, Key: "k-alice", ID: "u-alice", Name: "alice", Attrs: map[string]string{"username": "alice", "full_name": "Alice Doe", "email": "alice@example.com"}}},
		{Action: plan.Adopt, Kind: plan.KindUser, Key: "k-erin", ID: "u-erin",
			Before: &plan.Object{Kind: plan.KindUser, ID: "u-erin", Name: "erin", Attrs: map[string]string{"email": "erin@old.example.com"}, Version: "v1"},
			After:  &plan.Object{Kind: plan.KindUser, Key: "k-erin", ID: "u-erin", Name: "erin", Attrs: map[string]string{"email": "erin@example.com"}}},
		{Action: plan.Rename, Kind: plan.KindUser, Key: "k-carol", ID: "u-carol",
			Before: &plan.Object{Kind: plan.KindUser, ID: "u-carol", Name: "carol", Attrs: map[string]string{"username": "carol"}, Version: "v2"},
			After:  &plan.Object{Kind: plan.KindUser, Key: "k-carol", ID: "u-carol", Name: "caroline", Attrs: map[string]string{"username": "caroline"}}},
		{Action: plan.Update, Kind: plan.KindUser, Key: "k-bob", ID: "u-bob",
			Before: &plan.Object{Kind: plan.KindUser, ID: "u-bob", Name: "bob", Attrs: map[string]string{"email": "bob@old.example.com", "description": "line one\nline two\nline three", "secret": "h1"}, Sensitive: []string{"secret"}, Version: "v3"},
			After:  &plan.Object{Kind: plan.KindUser, Key: "k-bob", ID: "u-bob", Name: "bob", Attrs: map[string]string{"email": "bob@example.com", "description": "line one\nline 2\nline three", "secret": "h2"}, Sensitive: []string{"secret"}}},
		{Action: plan.Delete, Kind: plan.KindUser, Key: "k-dave", ID: "u-dave",
			Before: &plan.Object{Kind: plan.KindUser, ID: "u-dave", Name: "dave", Attrs: map[string]string{"username": "dave", "full_name": "Dave Roe", "email": "dave@example.com", "secret": "h3"}, Sensitive: []string{"secret"}, Version: "v4"}},
		{Action: plan.Update, Kind: plan.KindGroup, Key: "k-ops", ID: "g-ops",
			Before: &plan.Object{Kind: plan.KindGroup, ID: "g-ops", Name: "ops", Lists: map[string][]string{"members": {"u-bob", "u-dave"}}, Version: "v5"},
			After:  &plan.Object{Kind: plan.KindGroup, Key: "k-ops", ID: "g-ops", Name: "ops", Lists: map[string][]string{"members": {"u-alice", "u-bob", "u-unknown"}}}},
		{Action: plan.Delete, Kind: plan.KindGroup, Key: "k-old", ID: "g-old",
			Before: &plan.Object{Kind: plan.KindGroup, ID: "g-old", Name: "old-team"}},
	}
	return p
}

// CreatePlan is the plan `make bench` makes for n users against an empty
// Icinga target, shaped as providers/icinga builds it: n/50 contact
// groups, each user in 20 of them plus every tenth group holding the one
// before it (nested); entryUUID keys (time-based, as slapadd makes them)
// and UUIDv5 ids packed into one string in sorted order, as the provider
// packs them; a name for every member, and a Via entry for each member
// that came through a nested group.
func CreatePlan(n int) *plan.Plan {
	rng := rand.New(rand.NewPCG(1, 2))
	ns := uuid.MustParse("6ba7b810-9dad-11d1-80b4-00c04fd430c8")
	tick := uint64(0x1f0_5a1c_3d00_0000)
	entryUUID := func() string {
		tick += 2000 + rng.Uint64N(4000) // 100 ns units: slapadd makes a few hundred a second
		return fmt.Sprintf("%08x-%04x-1%03x-8a3f-0242ac120002", uint32(tick), uint16(tick>>32), uint16(tick>>48)&0xfff)
	}
	channel := uuid.NewSHA1(ns, []byte("channel:email")).String()
	given := []string{"Ada", "Ben", "Chloé", "Dmitri", "Eva", "Farid", "Greta", "Hiro", "Ines", "Jonas", "Kemal", "Lena", "Malik", "Nora", "Oskar", "Priya"}
	family := []string{"Adler", "Berg", "Costa", "Dubois", "Eriksen", "Fischer", "García", "Huber", "Ivanova", "Jensen", "Kowalski", "Lange", "Müller", "Nowak", "Ortiz", "Peters"}

	p := &plan.Plan{
		ToolVersion: "0.9.0", Created: time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC),
		ConfigDigest: "sha256:5d41402abc4b2a76b9719d911017c592",
		Source:       "ldap://127.0.0.1:38901", Target: "icinga http://127.0.0.1:38902/icingaweb2/notifications/api/v1",
		Refs: plan.Refs{Names: map[string]string{}, Via: map[plan.Via]string{}},
	}
	in := plan.Input{Bindings: plan.Bindings{}}
	groups := max(n/50, 1)
	direct := make([][]int, groups) // user indexes per group
	ids, keys := make([]string, n), make([]string, n)
	for u := range n {
		keys[u] = entryUUID()
		ids[u] = uuid.NewSHA1(ns, []byte("contact:"+keys[u])).String()
	}
	packIDs(ids)
	for u := range n {
		username := fmt.Sprintf("user%06d", u)
		attrs := map[string]string{"username": username, "full_name": given[rng.IntN(len(given))] + " " + family[rng.IntN(len(family))], "email": username + "@example.com", "default_channel": channel}
		in.Desired = append(in.Desired, &plan.Object{Kind: plan.KindUser, Key: keys[u], ID: ids[u], Name: username, Attrs: attrs})
		p.Refs.Names[ids[u]] = username
		for _, g := range rng.Perm(groups)[:min(20, groups)] {
			direct[g] = append(direct[g], u)
		}
	}
	for g := range groups {
		key := entryUUID()
		id := uuid.NewSHA1(ns, []byte("group:"+key)).String()
		members := map[string]bool{}
		for _, u := range direct[g] {
			members[ids[u]] = true
		}
		if g > 0 && g%10 == 0 {
			for _, u := range direct[g-1] {
				if !members[ids[u]] {
					members[ids[u]] = true
					p.Refs.Via[plan.Via{Owner: id, Member: ids[u]}] = fmt.Sprintf("group%05d", g-1)
				}
			}
		}
		list := slices.Sorted(maps.Keys(members))
		in.Desired = append(in.Desired, &plan.Object{Kind: plan.KindGroup, Key: key, ID: id, Name: fmt.Sprintf("group%05d", g), Lists: map[string][]string{"members": list}})
	}
	cs, err := plan.Diff(in)
	if err != nil {
		panic(err)
	}
	p.Changes = cs
	p.Counts = map[string]int{"source users": n, "source groups": groups, "target users": 0, "target groups": 0, "managed users": 0, "managed groups": 0}
	return p
}

// packIDs makes ids substrings of one string that holds them in sorted
// order, as providers/icinga packs its contact ids.
func packIDs(ids []string) {
	sorted := slices.Sorted(slices.Values(ids))
	all := strings.Join(sorted, "")
	at := map[string]string{}
	for _, id := range sorted {
		at[id], all = all[:len(id)], all[len(id):]
	}
	for i, id := range ids {
		ids[i] = at[id]
	}
}

// Unpacked returns p with each id in a string of its own, allocated in
// change order, as a plan read back from its file holds them; an id's
// change and the lists naming it still share that string.
func Unpacked(p *plan.Plan) *plan.Plan {
	cp := *p
	cp.Changes = slices.Clone(p.Changes)
	own := map[string]string{}
	str := func(s string) string {
		if o, ok := own[s]; ok {
			return o
		}
		own[s] = strings.Clone(s)
		return own[s]
	}
	for i := range cp.Changes {
		c := &cp.Changes[i]
		c.ID = str(c.ID)
		if c.After != nil {
			a := *c.After
			a.ID = c.ID
			a.Lists = map[string][]string{}
			for name, list := range c.After.Lists {
				l := make([]string, len(list))
				for j, v := range list {
					l[j] = str(v)
				}
				a.Lists[name] = l
			}
			c.After = &a
		}
	}
	return &cp
}
