package plan_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/ldapply/ldapply/plan"
)

// benchInput builds n users and n/50 groups of about 1,000 members each,
// the shape `make bench` uses, with every object bound and current.
func benchInput(n int, changed int) plan.Input {
	in := plan.Input{Bindings: plan.Bindings{}}
	groups := max(n/50, 1)
	members := make([][]string, groups)
	for i := range n {
		id := fmt.Sprintf("00000000-0000-5000-8000-%012d", i)
		key := fmt.Sprintf("k-%d", i)
		attrs := map[string]string{"username": fmt.Sprintf("user%06d", i), "full_name": "Some Body", "email": fmt.Sprintf("user%06d@example.com", i), "default_channel": "0b4e2a9e-3f5d-4c1a-9d6e-2f7a8b9c0d1e"}
		in.Desired = append(in.Desired, &plan.Object{Kind: plan.KindUser, Key: key, ID: id, Name: attrs["username"], Attrs: attrs})
		cur := map[string]string{}
		for k, v := range attrs {
			cur[k] = v
		}
		if i < changed {
			cur["email"] = "old@example.com"
		}
		in.Current = append(in.Current, &plan.Object{Kind: plan.KindUser, ID: id, Name: attrs["username"], Attrs: cur, Version: "v"})
		in.Bindings.Add(plan.Binding{Kind: plan.KindUser, Key: key, ID: id, Name: attrs["username"]})
		for j := range 20 {
			g := (i*7 + j*13) % groups
			members[g] = append(members[g], id)
		}
	}
	for g := range groups {
		id := fmt.Sprintf("00000000-0000-5000-9000-%012d", g)
		key := fmt.Sprintf("g-%d", g)
		name := fmt.Sprintf("group%05d", g)
		in.Desired = append(in.Desired, &plan.Object{Kind: plan.KindGroup, Key: key, ID: id, Name: name, Lists: map[string][]string{"members": members[g]}})
		in.Current = append(in.Current, &plan.Object{Kind: plan.KindGroup, ID: id, Name: name, Lists: map[string][]string{"members": members[g]}, Version: "v"})
		in.Bindings.Add(plan.Binding{Kind: plan.KindGroup, Key: key, ID: id, Name: name})
	}
	return in
}

func BenchmarkDiffInSync(b *testing.B) {
	for _, n := range []int{10000, 100000} {
		in := benchInput(n, 0)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for b.Loop() {
				cs, err := plan.Diff(in)
				if err != nil || len(cs) != 0 {
					b.Fatal(err, len(cs))
				}
			}
		})
	}
}

// createPlan is the plan `make bench` makes for n users against an empty
// Icinga target, shaped as providers/icinga builds it: n/50 contact
// groups, each user in 20 of them plus every tenth group holding the one
// before it (nested); entryUUID keys (time-based, as slapadd makes them)
// and UUIDv5 ids; payloads encoded like the provider's contact and group
// bodies; refs for every member, and "group/member" refs for the members
// that came through a nested group.
func createPlan(n int) *plan.Plan {
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
		Refs: map[string]string{},
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
		key := keys[u]
		username := fmt.Sprintf("user%06d", u)
		attrs := map[string]string{"username": username, "full_name": given[rng.IntN(len(given))] + " " + family[rng.IntN(len(family))], "email": username + "@example.com", "default_channel": channel}
		in.Desired = append(in.Desired, &plan.Object{Kind: plan.KindUser, Key: key, ID: ids[u], Name: username, Attrs: attrs})
		p.Refs[ids[u]] = username
		for _, g := range rng.Perm(groups)[:min(20, groups)] {
			direct[g] = append(direct[g], u)
		}
	}
	groupNames := map[string]string{}
	for g := range groups {
		key := entryUUID()
		id := uuid.NewSHA1(ns, []byte("group:"+key)).String()
		name := fmt.Sprintf("group%05d", g)
		members := map[string]bool{}
		for _, u := range direct[g] {
			members[ids[u]] = true
		}
		if g > 0 && g%10 == 0 {
			for _, u := range direct[g-1] {
				if !members[ids[u]] {
					members[ids[u]] = true
					p.Refs[id+"/"+ids[u]] = fmt.Sprintf("user%06d (via group%05d)", u, g-1)
				}
			}
		}
		list := slices.Sorted(maps.Keys(members))
		in.Desired = append(in.Desired, &plan.Object{Kind: plan.KindGroup, Key: key, ID: id, Name: name, Lists: map[string][]string{"members": list}})
		groupNames[id] = name
	}
	cs, err := plan.Diff(in)
	if err != nil {
		panic(err)
	}
	for i := range cs {
		c := &cs[i]
		var body any
		switch c.Kind {
		case plan.KindUser:
			a := c.After.Attrs
			username := a["username"]
			body = struct {
				ID             string            `json:"id"`
				FullName       string            `json:"full_name"`
				Username       *string           `json:"username"`
				DefaultChannel string            `json:"default_channel"`
				Groups         []string          `json:"groups"`
				Addresses      map[string]string `json:"addresses"`
			}{c.ID, a["full_name"], &username, a["default_channel"], []string{}, map[string]string{"email": a["email"]}}
		case plan.KindGroup:
			body = struct {
				ID    string   `json:"id"`
				Name  string   `json:"name"`
				Users []string `json:"users"`
			}{c.ID, c.After.Name, c.After.Lists["members"]}
		}
		if c.Payload, err = json.Marshal(body); err != nil {
			panic(err)
		}
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

// unpacked returns p with each id in a string of its own, allocated in
// change order, as a plan read back from its file holds them; an id's
// change and the lists naming it still share that string.
func unpacked(p *plan.Plan) *plan.Plan {
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

func BenchmarkPlanFile(b *testing.B) {
	p := createPlan(100000)
	key := []byte("k")
	var buf bytes.Buffer
	b.Run("write-100000", func(b *testing.B) {
		for b.Loop() {
			buf.Reset()
			if err := plan.Write(&buf, p, key); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(buf.Len())/1e6, "MB")
	})
	// As apply or show would write it again: ids where the decoder put
	// them, not packed in order.
	scattered := unpacked(p)
	b.Run("write-100000-unpacked", func(b *testing.B) {
		var out bytes.Buffer
		for b.Loop() {
			out.Reset()
			if err := plan.Write(&out, scattered, key); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("read-100000", func(b *testing.B) {
		for b.Loop() {
			if _, err := plan.Read(bytes.NewReader(buf.Bytes()), key); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("show-text-100000", func(b *testing.B) {
		for b.Loop() {
			r, _ := plan.NewRenderer(io.Discard, plan.FormatText, plan.RenderOptions{})
			if err := plan.Decode(bytes.NewReader(buf.Bytes()), nil, r.Header, r.Change); err != nil {
				b.Fatal(err)
			}
			r.Close()
		}
	})
}

// BenchmarkRender renders the plan of 100,000 creates as plan does after
// the reads (text to the terminal) and as show --json does.
func BenchmarkRender(b *testing.B) {
	p := createPlan(100000)
	for _, f := range []plan.Format{plan.FormatText, plan.FormatJSON} {
		b.Run(string(f)+"-100000", func(b *testing.B) {
			for b.Loop() {
				if err := plan.Render(io.Discard, p, f, plan.RenderOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
