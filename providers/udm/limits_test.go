package udm_test

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ldapply/ldapply/fixtures/udmsim"
	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/providers"
	"github.com/ldapply/ldapply/providers/udm"
)

// TestLimitsSyntax pins the table to UCS's uid_umlauts and gid syntax
// (syntax.py): the doctests there and the edges of " -.".
func TestLimitsSyntax(t *testing.T) {
	for _, tc := range []struct {
		kind  plan.Kind
		field string
		value string
		ok    bool
	}{
		{plan.KindUser, "username", "user", true},
		{plan.KindUser, "username", "üser", true},        // doctest
		{plan.KindUser, "username", "admin", true},       // doctest: uid_umlauts allows admin
		{plan.KindUser, "username", "üs er", false},      // doctest: no spaces
		{plan.KindUser, "username", "ädmin no.2", false}, // doctest
		{plan.KindUser, "username", "admin@2", false},    // doctest
		{plan.KindUser, "username", "a", true},           // \w*$
		{plan.KindUser, "username", "_x_", true},
		{plan.KindUser, "username", "jane.doe-2", true},
		{plan.KindUser, "username", "a!\"#$%&'()*+,-.b", true}, // the range ! to . inside
		{plan.KindUser, "username", "a/b", false},              // / is past the range
		{plan.KindUser, "username", "dave.", false},            // must end in \w
		{plan.KindUser, "username", ".dave", false},
		{plan.KindUser, "username", "x²", true},                     // \w holds numbers (No)
		{plan.KindUser, "username", "e\u0301", false},               // a combining mark is not \w
		{plan.KindUser, "username", strings.Repeat("x", 300), true}, // max_length is not enforced
		{plan.KindGroup, "name", "Domain Users", true},
		{plan.KindGroup, "name", "Groupe d’accès d’autorisation Windows", true}, // doctest
		{plan.KindGroup, "name", "r&d (lab)", false},                            // ends in )
		{plan.KindGroup, "name", "r&d (lab)*", false},
		{plan.KindGroup, "name", "g", true},
		{plan.KindGroup, "name", " g", false},
		{plan.KindGroup, "name", "a/b", false},
	} {
		f := udm.Limits.Field(tc.kind, tc.field)
		if f == nil {
			t.Fatalf("no limit on %s %s", tc.kind, tc.field)
		}
		if reason, ok := f.Check(tc.value); ok != tc.ok {
			t.Errorf("%s %s %q: fits %v (%s), want %v", tc.kind, tc.field, tc.value, ok, reason, tc.ok)
		}
	}
	// Each field's Char allows exactly what its pattern allows inside a
	// value, so a refused value is explained by its character.
	for _, f := range udm.Limits {
		for r := rune(1); r < 0x2100; r++ {
			if f.Pattern.MatchString("a"+string(r)+"a") != f.Char(r) {
				t.Errorf("%s %s: Pattern and Char disagree on %U", f.Kind, f.Name, r)
			}
		}
	}
}

// udmLimitsDir: alice and a user whose uid is uid, both in group ops.
func udmLimitsDir(uid string) *plan.Directory {
	user := func(key, uid string) *plan.Entry {
		dn := "uid=" + key + ",o=src"
		return &plan.Entry{DN: dn, NormDN: dn, Key: key, Attrs: map[string][]string{"uid": {uid}, "sn": {key}}}
	}
	alice, bad := user("alice", "alice"), user("bad", uid)
	ops := &plan.Entry{DN: "cn=ops,o=src", NormDN: "cn=ops,o=src", Key: "ops", Attrs: map[string][]string{"cn": {"ops"}},
		Members: plan.NewDNs(alice.NormDN, bad.NormDN)}
	return &plan.Directory{Users: []*plan.Entry{alice, bad}, Groups: []*plan.Entry{ops}}
}

func newUDMLimitsProvider(t *testing.T) (*udm.Provider, *udmsim.Server, udm.Config) {
	t.Helper()
	sim, url := udmsim.Start(t, udmsim.Options{Users: map[string]string{"svc": "pw"}})
	cfg := udm.Config{URL: url, AllowInsecure: true, Username: "svc", Password: "pw", UserOU: "cn=u," + sim.Base(), GroupOU: "cn=g," + sim.Base()}
	if err := cfg.Resolve("inetorgperson"); err != nil {
		t.Fatal(err)
	}
	p, err := udm.New(cfg, providers.Env{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return p, sim, cfg
}

// udmPlanApply plans and applies every change; it returns the plan and
// the bindings after it.
func udmPlanApply(t *testing.T, p *udm.Provider, dir *plan.Directory, bs plan.Bindings) (*plan.Plan, plan.Bindings) {
	t.Helper()
	res, err := p.Plan(context.Background(), dir, bs)
	if err != nil {
		t.Fatal(err)
	}
	next := plan.Bindings{}
	for _, m := range bs {
		for _, b := range m {
			next.Add(b)
		}
	}
	for i := range res.Changes {
		c := &res.Changes[i]
		if err := p.Apply(context.Background(), c); err != nil {
			t.Fatalf("apply %s %s %s: %v", c.Action, c.Kind, c.Name(), err)
		}
		next.Add(c.Binding())
	}
	return res, next
}

func udmWarnings(p *plan.Plan, about string) []string {
	var out []string
	for _, w := range p.Warnings {
		if strings.Contains(w, about) {
			out = append(out, w)
		}
	}
	return out
}

// TestPlanLeavesOutBadUsername: a username UCS's syntax refuses is not
// planned, with one warning naming the entry, the field, the character
// and the rule; its group is planned with alice.
func TestPlanLeavesOutBadUsername(t *testing.T) {
	p, sim, cfg := newUDMLimitsProvider(t)
	res, _ := udmPlanApply(t, p, udmLimitsDir("bad@example"), plan.Bindings{})
	var names []string
	for _, c := range res.Changes {
		names = append(names, string(c.Kind)+" "+c.Name())
	}
	if !slices.Equal(names, []string{"user alice", "group ops"}) {
		t.Fatalf("planned %v; want user alice and group ops", names)
	}
	ws := udmWarnings(res, "uid=bad,o=src")
	if len(ws) != 1 {
		t.Fatalf("warnings %q; want one about uid=bad,o=src", res.Warnings)
	}
	for _, want := range []string{"left out of the plan", "UCS cannot store it", `its username "bad@example"`, "'@' (U+0040) at character 4", "uid_umlauts", "groups that hold it are planned without it"} {
		if !strings.Contains(ws[0], want) {
			t.Errorf("warning %q lacks %q", ws[0], want)
		}
	}
	ops := sim.Find(udmsim.Groups, "name", "ops")
	if ops == nil || !slices.Equal(ops.Properties["users"].([]string), []string{"uid=alice," + cfg.UserOU}) {
		t.Errorf("ops = %+v; want alice alone", ops)
	}
}

// TestPlanHoldsManagedUser: a managed user renamed to a username UCS
// refuses is left as it is, in its group, and the warning says so.
func TestPlanHoldsManagedUser(t *testing.T) {
	p, sim, cfg := newUDMLimitsProvider(t)
	_, bs := udmPlanApply(t, p, udmLimitsDir("bad"), plan.Bindings{})
	res, _ := udmPlanApply(t, p, udmLimitsDir("bad."), bs)
	for _, c := range res.Changes {
		t.Errorf("planned %s %s %s; want nothing", c.Action, c.Kind, c.Name())
	}
	ws := udmWarnings(res, "uid=bad,o=src")
	if len(ws) != 1 || !strings.Contains(ws[0], "left as it is in UCS") || !strings.Contains(ws[0], "not deleted") {
		t.Errorf("warnings %q; want one saying the user is left as it is", res.Warnings)
	}
	if sim.Find(udmsim.Users, "username", "bad") == nil {
		t.Error("the managed user is gone")
	}
	ops := sim.Find(udmsim.Groups, "name", "ops")
	if ops == nil || !slices.Contains(ops.Properties["users"].([]string), "uid=bad,"+cfg.UserOU) {
		t.Errorf("ops = %+v; want it to keep the held user", ops)
	}
}

// TestSimulatorRefusesBadNames: udmsim answers what UCS's syntax refuses
// with a 422 on the property, on create and on rename.
func TestSimulatorRefusesBadNames(t *testing.T) {
	sim, url := udmsim.Start(t, udmsim.Options{Users: map[string]string{"svc": "pw"}})
	ctx := context.Background()
	c, err := udm.NewClient(udm.ClientConfig{URL: url, Username: "svc", Password: "pw", Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	pos := "cn=users," + sim.Base()
	for _, tc := range []struct{ typ, body, want string }{
		{udm.TypeUser, `{"position":"` + pos + `","properties":{"username":"jane doe","lastname":"L","password":"long-enough-1"}}`, "username: Spaces are not allowed in the username"},
		{udm.TypeUser, `{"position":"` + pos + `","properties":{"username":"jane@x","lastname":"L","password":"long-enough-1"}}`, "username: Username must only contain numbers, letters and dots"},
		{udm.TypeGroup, `{"position":"cn=groups,` + sim.Base() + `","properties":{"name":"r&d (lab)*"}}`, "name: A group name must start and end with a letter, number or underscore"},
	} {
		_, err := c.Create(ctx, tc.typ, []byte(tc.body))
		var ae *udm.APIError
		if !errors.As(err, &ae) || ae.Status != 422 || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("create %s: %v; want a 422 with %q", tc.body, err, tc.want)
		}
	}
	dn, err := c.Create(ctx, udm.TypeUser, []byte(`{"position":"`+pos+`","properties":{"username":"jane.doe","lastname":"L","password":"long-enough-1"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Put(ctx, udm.TypeUser, dn, []byte(`{"position":"`+pos+`","properties":{"username":"jane."}}`), ""); err == nil || !regexp.MustCompile(`422|Username must`).MatchString(err.Error()) {
		t.Errorf("rename to jane.: %v; want a 422", err)
	}
}
