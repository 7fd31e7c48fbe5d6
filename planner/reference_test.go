package planner_test

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/planner"
)

// randomDirectory makes users and groups with random members: users,
// groups (nesting, cycles included) and DNs the read did not return. The
// member lists share one table, as a source's do.
func randomDirectory(rng *rand.Rand, users, groups int) *plan.Directory {
	d := &plan.Directory{}
	table := &plan.DNTable{}
	numbers := map[string]uint32{}
	number := func(dn string) uint32 {
		n, ok := numbers[dn]
		if !ok {
			n = table.Add(dn)
			numbers[dn] = n
		}
		return n
	}
	for i := range users {
		key := strconv.Itoa(i)
		cn := "user" + key
		if rng.IntN(20) == 0 {
			cn = "" // skipped
		}
		d.Users = append(d.Users, &plan.Entry{DN: "uid=" + key, NormDN: "uid=" + key, Key: key, Attrs: map[string][]string{"cn": {cn}, "mail": {key + "@x"}}})
	}
	for i := range groups {
		key := "g" + strconv.Itoa(i)
		var dns []string
		for range rng.IntN(30) {
			switch rng.IntN(10) {
			case 0:
				dns = append(dns, "cn=g"+strconv.Itoa(rng.IntN(groups)))
			case 1:
				dns = append(dns, "uid=outside"+strconv.Itoa(rng.IntN(5)))
			default:
				dns = append(dns, "uid="+strconv.Itoa(rng.IntN(users)))
			}
		}
		slices.Sort(dns)
		dns = slices.Compact(dns)
		ids := make([]uint32, len(dns))
		for j, dn := range dns {
			ids[j] = number(dn)
		}
		d.Groups = append(d.Groups, &plan.Entry{DN: "cn=" + key, NormDN: "cn=" + key, Key: key, Attrs: map[string][]string{"cn": {key}}, Members: table.List(ids)})
	}
	return d
}

// referenceMembers is the plain version of the planner's flattened
// members: by group key, the ids of every desired user reached through
// the groups read, found by text in maps.
func referenceMembers(d *plan.Directory, desired map[string]string) map[string][]string {
	groupByDN := map[string]*plan.Entry{}
	for _, g := range d.Groups {
		groupByDN[g.NormDN] = g
	}
	userID := map[string]string{}
	for _, u := range d.Users {
		if id, ok := desired[u.Key]; ok {
			userID[u.NormDN] = id
		}
	}
	out := map[string][]string{}
	for _, g := range d.Groups {
		ids := map[string]bool{}
		seen := map[string]bool{}
		var walk func(g *plan.Entry)
		walk = func(g *plan.Entry) {
			if seen[g.NormDN] {
				return
			}
			seen[g.NormDN] = true
			for dn := range g.Members.All() {
				if id, ok := userID[dn]; ok {
					ids[id] = true
				} else if sub, ok := groupByDN[dn]; ok {
					walk(sub)
				}
			}
		}
		walk(g)
		out[g.Key] = slices.Sorted(maps.Keys(ids))
	}
	return out
}

// TestMembersMatchReference fences the planner's members (ranks, DNs
// resolved by table number, unmanaged members found by one walk) with
// the plain version, on random directories and random targets.
func TestMembersMatchReference(t *testing.T) {
	for seed := range uint64(40) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 1))
			groups := 30
			if seed%2 == 1 {
				groups = 150 // enough for the members to be collected on two cores
			}
			d := randomDirectory(rng, 200, groups)
			// The target has some of the groups, with members desired,
			// managed and not, and by hand.
			f := &fake{}
			bs := plan.Bindings{}
			// Users 0-199 are bound (some left the directory since);
			// ids from 200 on are contacts made by hand.
			for i := range 200 {
				bs.Add(plan.Binding{Kind: plan.KindUser, Key: strconv.Itoa(i), ID: "u-" + strconv.Itoa(i)})
			}
			hand := map[string][]string{}
			for _, g := range d.Groups {
				if rng.IntN(2) == 0 {
					continue
				}
				var members []string
				for range rng.IntN(10) {
					id := "u-" + strconv.Itoa(rng.IntN(220))
					members = append(members, id)
					if id >= "u-200" && len(id) == 5 {
						hand[g.Key] = append(hand[g.Key], id)
					}
				}
				if rng.IntN(3) == 0 {
					members = append(members, "hand-"+g.Key)
					hand[g.Key] = append(hand[g.Key], "hand-"+g.Key)
				}
				slices.Sort(members)
				members = slices.Compact(members)
				f.cur = append(f.cur, group("g-"+g.Key, g.Key, map[string][]string{"members": members}))
				bs.Add(plan.Binding{Kind: plan.KindGroup, Key: g.Key, ID: "g-" + g.Key})
			}
			p, err := planner.Plan(context.Background(), f, rules(flat), d, bs)
			if err != nil {
				t.Fatal(err)
			}
			desired := map[string]string{}
			for _, u := range d.Users {
				if u.First("cn") != "" {
					desired[u.Key] = "u-" + u.Key
				}
			}
			want := referenceMembers(d, desired)
			got := map[string][]string{}
			for _, c := range p.Changes {
				if c.Kind == plan.KindGroup && c.After != nil {
					got[c.Key] = c.After.Lists["members"]
				}
			}
			for _, g := range d.Groups {
				w := slices.Compact(slices.Sorted(slices.Values(append(want[g.Key], hand[g.Key]...))))
				if l, changed := got[g.Key]; changed && !slices.Equal(l, w) {
					t.Errorf("group %s: planner %q, reference %q", g.Key, l, w)
				}
			}
		})
	}
}

// BenchmarkPlanInSync plans a directory of 100,000 users in 2,000 groups
// of 1,000 members against a fake target that holds exactly that: the
// planner's own work in an in-sync plan, without reads or requests.
func BenchmarkPlanInSync(b *testing.B) {
	const users, groups, per = 100_000, 2_000, 1_000
	d := &plan.Directory{}
	table := &plan.DNTable{}
	f := &fake{}
	bs := plan.Bindings{}
	for i := range users {
		key := strconv.Itoa(i)
		d.Users = append(d.Users, &plan.Entry{DN: "uid=" + key, NormDN: "uid=" + key, Key: key, Attrs: map[string][]string{"cn": {"user" + key}, "mail": {key + "@x"}}})
		table.Add("uid=" + key)
		f.cur = append(f.cur, user("u-"+key, "user"+key, key+"@x"))
		bs.Add(plan.Binding{Kind: plan.KindUser, Key: key, ID: "u-" + key})
	}
	for g := range groups {
		key := "g" + strconv.Itoa(g)
		ids := make([]uint32, per)
		members := make([]string, per)
		for j := range per {
			ids[j] = uint32((g*per/2 + j*7) % users)
			members[j] = "u-" + strconv.Itoa(int(ids[j]))
		}
		slices.Sort(ids)
		slices.Sort(members)
		d.Groups = append(d.Groups, &plan.Entry{DN: "cn=" + key, NormDN: "cn=" + key, Key: key, Attrs: map[string][]string{"cn": {key}}, Members: table.List(ids)})
		f.cur = append(f.cur, group("g-"+key, key, map[string][]string{"members": members}))
		bs.Add(plan.Binding{Kind: plan.KindGroup, Key: key, ID: "g-" + key})
	}
	r := rules(flat)
	r.Limits = nil
	b.ResetTimer()
	for b.Loop() {
		p, err := planner.Plan(context.Background(), f, r, d, bs)
		if err != nil || len(p.Changes) != 0 {
			b.Fatalf("in-sync plan: %v, %d changes", err, len(p.Changes))
		}
	}
}
