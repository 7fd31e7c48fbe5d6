package icinga

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unsafe"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/uuid"

	"github.com/ldapply/ldapply/fixtures/icingasim"
	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/providers"
)

// TestDecodeList covers the streaming list decoder: other keys around
// "data" are skipped, ids come through the interner (one string per id),
// escaped ids take the general path, names match as encoding/json's do,
// and broken answers are errors.
func TestDecodeList(t *testing.T) {
	in := newInterner()
	decodeGroups := func(body string) ([]Group, error) {
		var groups []Group
		var scratch idScratch
		err := decodeList(strings.NewReader(body), func(dec *jsontext.Decoder) error {
			var v struct {
				Group
				Users idList `json:"users"`
			}
			v.Users.in, v.Users.scratch = in, &scratch
			err := jsonv2.UnmarshalDecode(dec, &v)
			v.Group.Users = v.Users.ids
			groups = append(groups, v.Group)
			return err
		})
		return groups, err
	}
	groups, err := decodeGroups(`{"meta": {"x": [1, {"y": 2}]}, "data": [
		{"id": "g1", "name": "a", "users": ["u1", "u2"]},
		{"id": "g2", "name": "b", "users": [ "u2" , "u\u0033" ]},
		{"id": "g3", "name": "c", "users": null},
		{"ID": "g4", "Name": "d", "users": [], "name": "e"}
	], "more": true}`)
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) != 4 || !slices.Equal(groups[0].Users, []string{"u1", "u2"}) || !slices.Equal(groups[1].Users, []string{"u2", "u3"}) || groups[2].Users != nil {
		t.Fatalf("decoded %+v", groups)
	}
	if unsafe.StringData(groups[0].Users[1]) != unsafe.StringData(groups[1].Users[0]) {
		t.Error("the two u2 are separate strings; the interner should hand out one")
	}
	// As encoding/json: names match in any case, the last duplicate wins,
	// and an empty list stays a list (a group's version hashes it).
	if g := groups[3]; g.ID != "g4" || g.Name != "e" || g.Users == nil || len(g.Users) != 0 {
		t.Errorf("decoded %+v, want id g4, name e and an empty, non-nil users list", g)
	}
	// The scratch list is reused: earlier groups keep their own members.
	if !slices.Equal(groups[0].Users, []string{"u1", "u2"}) {
		t.Errorf("a later group overwrote an earlier one's members: %v", groups[0].Users)
	}

	for _, bad := range []string{`[]`, `{"data": {}}`, `{"other": []}`, `{"data": [{"id": "g1", "users": [1]}]}`, `{"data": [`, `{"data": [{"id": "g1", "users": ["u1"`, `{"data": []`, `{"data": [] "x": 1}`} {
		if _, err := decodeGroups(bad); err == nil {
			t.Errorf("%s: no error", bad)
		} else if !strings.Contains(err.Error(), `the answer is not {"data": [...]}`) {
			t.Errorf("%s: error %q does not say the answer is not a list", bad, err)
		}
	}
}

func TestSourceAttributes(t *testing.T) {
	cfg := Config{URL: "https://icinga.example.com/icingaweb2/notifications/api/v1", Username: "u", Password: "p"}
	if err := cfg.Resolve("inetorgperson"); err != nil {
		t.Fatal(err)
	}
	p, err := New(cfg, providers.Env{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.SourceAttributes(); !slices.Equal(got, []string{"cn", "displayName", "mail", "uid"}) {
		t.Errorf("default inetOrgPerson mapping reads %v", got)
	}
	cfg.Map.Email = `{{ range $k, $v := . }}{{ $v }}{{ end }}`
	if p, err = New(cfg, providers.Env{Version: "test"}); err != nil {
		t.Fatal(err)
	}
	if got := p.SourceAttributes(); got != nil {
		t.Errorf("a mapping that ranges over every attribute must read all (nil), got %v", got)
	}
}

// TestCompactContact: a contact whose only address is its email is held
// without the map, yet reads back, versions and diffs as sent.
func TestCompactContact(t *testing.T) {
	name := "alice"
	for _, addrs := range []map[string]string{
		{"email": "alice@example.com"},
		{"email": "alice@example.com", "webhook": "https://hooks.example.com/a"},
		{},
		nil,
	} {
		orig := Contact{ID: "c1", FullName: "Alice", Username: &name, DefaultChannel: "ch", Groups: []string{"g1"}, Addresses: addrs}
		c := heldContact{Contact: orig}
		c.compact()
		if got, want := plan.VersionOf(c.asRead()), plan.VersionOf(&orig); got != want {
			t.Errorf("%v: version %s after compact, %s as read", addrs, got, want)
		}
		e, ok := c.email()
		if we, wok := addrs["email"]; e != we || ok != wok {
			t.Errorf("%v: email() = %q, %v", addrs, e, ok)
		}
		if len(addrs) == 1 && c.Addresses != nil {
			t.Errorf("%v: the map was kept", addrs)
		}
	}
}

// TestInternerUUIDs: a lower-case UUID is found by its bytes, any other
// id as text, and each spelling keeps its own string.
func TestInternerUUIDs(t *testing.T) {
	for range 100 {
		u := uuid.New()
		k, ok := uuidKey([]byte(u.String()))
		if !ok || k != [16]byte(u) {
			t.Fatalf("uuidKey(%s) = %x, %v", u, k, ok)
		}
	}
	for _, bad := range []string{
		"5F4DCC3B-5AA7-4C5E-8E3F-0123456789AB", // upper case
		"5f4dcc3b5aa74c5e8e3f0123456789ab",     // no dashes
		"5f4dcc3b-5aa7-4c5e-8e3f-0123456789a",  // short
		"5f4dcc3b-5aa7-4c5e-8e3f-0123456789ag", // not hex
		"5f4dcc3b-5aa74-c5e-8e3f-0123456789ab", // a dash moved
	} {
		if _, ok := uuidKey([]byte(bad)); ok {
			t.Errorf("uuidKey(%q) accepted", bad)
		}
	}
	in := newInterner()
	lower, upper := "5f4dcc3b-5aa7-4c5e-8e3f-0123456789ab", "5F4DCC3B-5AA7-4C5E-8E3F-0123456789AB"
	a, b, c := in.get([]byte(lower)), in.get([]byte(upper)), in.get([]byte(lower))
	if a != lower || b != upper || unsafe.StringData(a) != unsafe.StringData(c) {
		t.Errorf("interned %q, %q, %q; want each spelling kept and the repeat shared", a, b, c)
	}
}

// TestPlanRefsName every member a change's lists hold: a new group's
// members as drafted (walked by rank), a member an update removes (found
// in the target's list by its id, named as the directory names it) and a
// contact made by hand that stays.
func TestPlanRefsName(t *testing.T) {
	srv, base := icingasim.Start(t, icingasim.Options{})
	p := NewForTest(t, base, "icinga", "icinga")
	user := func(uid string) *plan.Entry {
		dn := "uid=" + uid + ",ou=people,dc=example,dc=com"
		return &plan.Entry{DN: dn, NormDN: dn, Key: "k-" + uid, Attrs: map[string][]string{"uid": {uid}, "cn": {uid}, "mail": {uid + "@example.com"}}}
	}
	alice, bob, dave := user("alice"), user("bob"), user("dave")
	aliceID, bobID, daveID := p.ContactID(alice.Key, "alice"), p.ContactID(bob.Key, "bob"), p.ContactID(dave.Key, "dave")
	carolID, opsID := "5f4dcc3b-5aa7-4c5e-8e3f-0123456789ab", p.GroupID("k-ops", "ops")
	contact := func(id, name string) icingasim.Contact {
		return icingasim.Contact{ID: id, FullName: name, Username: &name, DefaultChannel: icingasim.DefaultChannelID,
			Groups: []string{opsID}, Addresses: map[string]string{"email": name + "@example.com"}}
	}
	// bob is renamed: the refs give the directory's name.
	srv.Seed([]icingasim.Contact{contact(aliceID, "alice"), contact(bobID, "bob-old"), contact(carolID, "carol")},
		[]icingasim.Group{{ID: opsID, Name: "ops"}})
	ops := &plan.Entry{DN: "cn=ops,ou=groups,dc=example,dc=com", NormDN: "cn=ops,ou=groups,dc=example,dc=com", Key: "k-ops",
		Attrs: map[string][]string{"cn": {"ops"}}, Members: plan.NewDNs(alice.NormDN)}
	dev := &plan.Entry{DN: "cn=dev,ou=groups,dc=example,dc=com", NormDN: "cn=dev,ou=groups,dc=example,dc=com", Key: "k-dev",
		Attrs: map[string][]string{"cn": {"dev"}}, Members: plan.NewDNs(alice.NormDN, dave.NormDN)}
	// all holds bob and, through the nested group dev, alice and dave.
	all := &plan.Entry{DN: "cn=all,ou=groups,dc=example,dc=com", NormDN: "cn=all,ou=groups,dc=example,dc=com", Key: "k-all",
		Attrs: map[string][]string{"cn": {"all"}}, Members: plan.NewDNs(bob.NormDN, dev.NormDN)}
	allID := p.GroupID("k-all", "all")
	b := plan.Bindings{}
	b.Add(plan.Binding{Kind: plan.KindUser, Key: alice.Key, ID: aliceID, Name: "alice"})
	b.Add(plan.Binding{Kind: plan.KindUser, Key: bob.Key, ID: bobID, Name: "bob"})
	b.Add(plan.Binding{Kind: plan.KindGroup, Key: "k-ops", ID: opsID, Name: "ops"})
	res, err := p.Plan(context.Background(), &plan.Directory{Users: []*plan.Entry{alice, bob, dave}, Groups: []*plan.Entry{ops, dev, all}}, b)
	if err != nil {
		t.Fatal(err)
	}
	var group *plan.Change
	for i := range res.Changes {
		if res.Changes[i].ID == opsID {
			group = &res.Changes[i]
		}
	}
	if group == nil || group.Action != plan.Update || !slices.Equal(group.After.Lists[listMembers], sortedIDs(aliceID, carolID)) {
		t.Fatalf("changes %+v: want an update of ops keeping alice and carol", res.Changes)
	}
	for id, want := range map[string]string{aliceID: "alice", bobID: "bob", carolID: "carol", daveID: "dave"} {
		if got := res.Refs.Names[id]; got != want {
			t.Errorf("ref of %s = %q, want %q (refs %v)", id, got, want, res.Refs)
		}
	}
	for owner, want := range map[string]map[string]string{
		allID: {aliceID: "alice (via dev)", daveID: "dave (via dev)", bobID: "bob"},
		opsID: {aliceID: "alice"},
	} {
		for id, name := range want {
			if got := res.Refs.Name(owner, id); got != name {
				t.Errorf("name of %s in %s = %q, want %q (via refs %v)", id, owner, got, name, res.Refs.Via)
			}
		}
	}
	if len(res.Refs.Via) != 2 {
		t.Errorf("via refs %v, want alice's and dave's in all", res.Refs.Via)
	}
}

func sortedIDs(ids ...string) []string {
	slices.Sort(ids)
	return ids
}

// TestInternerResolve checks idList's sorted path against the plain one:
// lists of UUIDs known before the seal, unknown ones, ids that share a
// first half, repeats, any order and a list with an id that is not a
// lower-case UUID all come out as
// their ids sorted, each as the interner's one string for it.
func TestInternerResolve(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	in := newInterner()
	var contacts []string
	for range 3000 {
		contacts = append(contacts, uuid.NewString())
	}
	// Ids that share their first 8 bytes (the walk's first half) with a
	// contact: two more contacts, and below an unknown id.
	twin := contacts[0][:19]
	contacts = append(contacts, twin+"0000-000000000001", twin+"ffff-ffffffffffff")
	slices.Sort(contacts)
	if r.IntN(2) == 0 { // contacts normally arrive sorted; seal must cope if not
		r.Shuffle(len(contacts), func(i, j int) { contacts[i], contacts[j] = contacts[j], contacts[i] })
	}
	for i, c := range contacts {
		if i%100 == 0 {
			in.get([]byte(c)) // interned before the seal by a contact's groups, say
		} else {
			in.contact(c)
		}
	}
	in.seal()
	plain := newInterner() // the reference: one lookup per id, then a sort
	unknown := []string{uuid.NewString(), uuid.NewString(), "00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff", twin + "8000-000000000000"}
	for round := range 300 {
		list := []string{}
		for range r.IntN(200) {
			switch n := r.IntN(20); {
			case n == 0:
				list = append(list, unknown[r.IntN(len(unknown))])
			case n == 1 && len(list) > 0:
				list = append(list, list[r.IntN(len(list))]) // a repeat
			default:
				list = append(list, contacts[r.IntN(len(contacts))])
			}
		}
		if round%3 == 0 {
			slices.Sort(list)
		}
		if round%10 == 1 {
			list = append(list, "Not-A-UUID")
		}
		body, _ := json.Marshal(list)
		var l idList
		l.in, l.scratch = in, &idScratch{}
		if err := jsonv2.Unmarshal(body, &l); err != nil {
			t.Fatal(err)
		}
		got := l.ids
		if !l.sorted {
			slices.Sort(got)
		}
		var want []string
		for _, id := range list {
			want = append(want, plain.get([]byte(id)))
		}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("round %d: %v\ngot  %v\nwant %v", round, list, got, want)
		}
		if l.sorted == slices.Contains(list, "Not-A-UUID") {
			t.Errorf("round %d: sorted = %v for %v", round, l.sorted, list)
		}
		for _, id := range got {
			if s := in.get([]byte(id)); unsafe.StringData(s) != unsafe.StringData(id) {
				t.Fatalf("round %d: %s is not the interner's string", round, id)
			}
		}
	}
	// The contacts' ids, as readObjects sets them after the seal, are the
	// very strings the lists hold.
	for _, c := range append(contacts, in.get([]byte("Not-A-UUID"))) {
		if s, g := in.canonical(c), in.get([]byte(c)); s != c || unsafe.StringData(s) != unsafe.StringData(g) {
			t.Fatalf("canonical(%s) = %q, not the interner's string for it", c, s)
		}
	}
}
