package planner_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/planner"
	"github.com/ldapply/ldapply/providers/limits"
)

// fake is a target whose objects are plan objects: a user's id is
// "u-"+key, a group's "g-"+key; the name is the entry's cn.
type fake struct {
	cur       []*plan.Object
	versioned []string // ids SetVersions was asked for
}

func (f *fake) Desire(k plan.Kind, e *plan.Entry) (*plan.Object, string, error) {
	name := e.First("cn")
	if name == "" {
		return nil, string(k) + " " + e.DN + " has no cn and is skipped", nil
	}
	o := &plan.Object{Name: name, Attrs: map[string]string{"mail": e.First("mail")}}
	if k == plan.KindGroup {
		o.Attrs = nil
	}
	if pw := e.First("userPassword"); pw != "" {
		o.Attrs["password"] = pw
		o.Sensitive = []string{"password"}
	}
	return o, "", nil
}

func (f *fake) NewID(k plan.Kind, key, _ string) string { return string(k[0]) + "-" + key }

func (f *fake) Current(context.Context) (*planner.Current, error) {
	return &planner.Current{Objects: f.cur, Counts: map[string]int{"target things": len(f.cur)}}, nil
}

func (f *fake) SetVersions(objs []*plan.Object) {
	for _, o := range objs {
		o.Version = "v:" + o.ID
		f.versioned = append(f.versioned, o.ID)
	}
}

func rules(m planner.Membership) *planner.Rules {
	return &planner.Rules{
		Target:    "Fake",
		NameField: map[plan.Kind]string{plan.KindUser: "username", plan.KindGroup: "name"},
		Limits:    limits.Table{{Kind: plan.KindUser, Name: "name", MaxLen: 8, Source: "test"}, {Kind: plan.KindGroup, Name: "name", MaxLen: 8, Source: "test"}},
		Members:   m,
		Unmanaged: func(o *plan.Object) (string, string) {
			return "the fake object " + o.ID, "rename it in Fake"
		},
		CreateOnly: []string{"password"},
	}
}

var flat = planner.Membership{Users: "members"}
var keep = planner.Membership{Users: "users", Groups: "nested"}

// dir builds a directory: users by key, groups by key with members by
// key (users and groups alike).
type dirBuilder struct{ d plan.Directory }

func (b *dirBuilder) user(key, cn string, attrs ...string) *dirBuilder {
	e := &plan.Entry{DN: "uid=" + key + ",ou=people", NormDN: "uid=" + key + ",ou=people", Key: key, Attrs: map[string][]string{"cn": {cn}}}
	for i := 0; i+1 < len(attrs); i += 2 {
		e.Attrs[attrs[i]] = []string{attrs[i+1]}
	}
	b.d.Users = append(b.d.Users, e)
	return b
}

func (b *dirBuilder) group(key, cn string, members ...string) *dirBuilder {
	var dns []string
	for _, m := range members {
		if strings.HasPrefix(m, "g:") {
			dns = append(dns, "cn="+m[2:]+",ou=groups")
		} else {
			dns = append(dns, "uid="+m+",ou=people")
		}
	}
	slices.Sort(dns)
	e := &plan.Entry{DN: "cn=" + key + ",ou=groups", NormDN: "cn=" + key + ",ou=groups", Key: key, Attrs: map[string][]string{"cn": {cn}}, Members: plan.NewDNs(dns...)}
	b.d.Groups = append(b.d.Groups, e)
	return b
}

func bind(pairs ...string) plan.Bindings {
	bs := plan.Bindings{}
	for _, p := range pairs {
		kind, rest, _ := strings.Cut(p, ":")
		key, id, _ := strings.Cut(rest, "=")
		k := plan.KindUser
		if kind == "g" {
			k = plan.KindGroup
		}
		bs.Add(plan.Binding{Kind: k, Key: key, ID: id})
	}
	return bs
}

func user(id, name, mail string) *plan.Object {
	return &plan.Object{Kind: plan.KindUser, ID: id, Name: name, Attrs: map[string]string{"mail": mail}}
}

func group(id, name string, lists map[string][]string) *plan.Object {
	return &plan.Object{Kind: plan.KindGroup, ID: id, Name: name, Lists: lists}
}

// summary renders the changes as "<symbol> <kind> <name>" lines.
func summary(p *plan.Plan) []string {
	var out []string
	for _, c := range p.Changes {
		out = append(out, c.Action.Symbol()+" "+string(c.Kind)+" "+c.Name())
	}
	return out
}

func mustPlan(t *testing.T, f *fake, r *planner.Rules, d *plan.Directory, bs plan.Bindings) *plan.Plan {
	t.Helper()
	p, err := planner.Plan(context.Background(), f, r, d, bs)
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	return p
}

func TestOwnershipAdoptionAndRenames(t *testing.T) {
	d := (&dirBuilder{}).user("a", "alice", "mail", "a@x").user("b", "bobby", "mail", "b@x").user("c", "carol", "mail", "c@x").d
	f := &fake{cur: []*plan.Object{
		user("u-a", "alice", "a@old"),                              // bound: updated
		user("u-b", "bob", "b@x"),                                  // bound: renamed
		user("u-c", "carol", "c@x"),                                // not bound, its derived id: adopted
		user("u-z", "zed", "z@x"),                                  // bound, gone from the directory: deleted
		user("hand", "hand", "h@x"),                                // not bound: left alone
		user("u-gone", "gone", "g@x"),                              // not bound and not desired: left alone
		group("g-x", "x", nil),                                     // not bound: left alone
		group("g-y", "y", map[string][]string{"members": {"u-a"}}), // bound, not desired: deleted
	}}
	p := mustPlan(t, f, rules(flat), &d, bind("u:a=u-a", "u:b=u-b", "u:z=u-z", "g:y=g-y"))
	want := []string{"<= user carol", "~> user bobby", "~ user alice", "- user zed", "- group y"}
	if got := summary(p); !slices.Equal(got, want) {
		t.Fatalf("changes %q, want %q", got, want)
	}
	if !slices.Equal(f.versioned, []string{"u-c", "u-b", "u-a", "u-z", "g-y"}) {
		t.Errorf("versions asked for %q, want those of the changed objects only", f.versioned)
	}
	if p.Counts["target things"] != 8 || p.Counts["source users"] != 3 || p.Counts["managed users"] != 3 {
		t.Errorf("counts %v", p.Counts)
	}
}

func TestNamesThatCollide(t *testing.T) {
	d := (&dirBuilder{}).user("a", "alice").user("a2", "ALICE").user("b", "bob").group("g", "ops").d
	f := &fake{cur: []*plan.Object{user("hand", "Bob", ""), group("hand-g", "OPS", nil)}}
	_, err := planner.Plan(context.Background(), f, rules(flat), &d, nil)
	var ce *plan.ConflictError
	if !errors.As(err, &ce) || len(ce.Problems) != 3 {
		t.Fatalf("Plan: %v, want 3 conflicts", err)
	}
	all := strings.Join(ce.Problems, "\n")
	for _, want := range []string{
		`source users uid=a,ou=people and uid=a2,ou=people both map to username "ALICE"`,
		`source user uid=b,ou=people maps to username "Bob", which the fake object hand already has and ldapply does not manage; rename it in Fake`,
		`source group cn=g,ou=groups maps to name "OPS", which the fake object hand-g already has`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("conflicts\n%s\ndo not say %q", all, want)
		}
	}
	// A kind whose names may be shared gets a warning instead.
	r := rules(flat)
	r.SharedNames = []plan.Kind{plan.KindGroup}
	d = (&dirBuilder{}).user("b", "bobby").group("g", "ops").d
	p := mustPlan(t, f, r, &d, nil)
	if len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], `group cn=g,ou=groups maps to name "OPS", which the fake object hand-g also has`) {
		t.Errorf("warnings %q", p.Warnings)
	}
	if got := summary(p); !slices.Equal(got, []string{"+ user bobby", "+ group ops"}) {
		t.Errorf("changes %q", got)
	}
}

func TestLimitsLeaveOutOrHold(t *testing.T) {
	d := (&dirBuilder{}).user("a", "alice").user("l", "longername").user("m", "managedtoolong").group("g", "ops", "a", "l", "m").d
	f := &fake{cur: []*plan.Object{
		user("u-m", "managed", ""),
		group("g-g", "ops", map[string][]string{"members": {"u-m"}}),
	}}
	p := mustPlan(t, f, rules(flat), &d, bind("u:m=u-m", "g:g=g-g"))
	if got := summary(p); !slices.Equal(got, []string{"+ user alice", "~ group ops"}) {
		t.Fatalf("changes %q: the held user must be neither updated nor deleted", got)
	}
	if got := p.Changes[1].After.Lists["members"]; !slices.Equal(got, []string{"u-a", "u-m"}) {
		t.Errorf("ops members %q: the held user stays, the left-out one is not added", got)
	}
	if len(p.Warnings) != 2 || !strings.Contains(p.Warnings[0], "uid=l,ou=people is left out") || !strings.Contains(p.Warnings[1], "uid=m,ou=people is left as it is in Fake") {
		t.Errorf("warnings %q", p.Warnings)
	}
}

func TestUnmanagedMembersStay(t *testing.T) {
	d := (&dirBuilder{}).user("a", "alice").user("b", "bob").group("g", "ops", "a").d
	f := &fake{cur: []*plan.Object{
		user("u-a", "alice", ""), user("u-b", "bob", ""), user("u-old", "old", ""), user("hand", "hand", ""),
		group("g-g", "ops", map[string][]string{"members": {"hand", "u-b", "u-old", "uid=else"}}),
	}}
	p := mustPlan(t, f, rules(flat), &d, bind("u:a=u-a", "u:b=u-b", "u:old=u-old", "g:g=g-g"))
	var ops *plan.Change
	for i := range p.Changes {
		if p.Changes[i].Kind == plan.KindGroup {
			ops = &p.Changes[i]
		}
	}
	if ops == nil {
		t.Fatalf("no group change in %q", summary(p))
	}
	// bob is managed and not a member: out. old is bound (deleted): out.
	// hand and the DN are not managed: they stay.
	if got := ops.After.Lists["members"]; !slices.Equal(got, []string{"hand", "u-a", "uid=else"}) {
		t.Errorf("members %q", got)
	}
	if p.Refs.Names["u-a"] != "alice" || p.Refs.Names["hand"] != "hand" || p.Refs.Names["u-b"] != "bob" {
		t.Errorf("refs %v do not name the members of the change", p.Refs)
	}
	if _, ok := p.Refs.Names["u-old"]; !ok {
		t.Errorf("refs %v do not name a removed member", p.Refs)
	}
}

func TestNestedGroupsFlattened(t *testing.T) {
	d := (&dirBuilder{}).user("a", "alice").user("b", "bob").user("c", "carol").
		group("top", "top", "a", "g:dev").group("dev", "dev", "b", "g:ops", "a").group("ops", "ops", "c", "g:top").d
	f := &fake{}
	p := mustPlan(t, f, rules(flat), &d, nil)
	lists := map[string][]string{}
	for _, c := range p.Changes {
		if c.Kind == plan.KindGroup {
			lists[c.Name()] = c.After.Lists["members"]
		}
	}
	all := []string{"u-a", "u-b", "u-c"}
	for _, g := range []string{"top", "dev", "ops"} {
		if !slices.Equal(lists[g], all) {
			t.Errorf("group %s members %q, want %q (a cycle through three groups)", g, lists[g], all)
		}
	}
	if p.Refs.Name("g-top", "u-b") != "bob (via dev)" || p.Refs.Name("g-top", "u-c") != "carol (via dev)" {
		t.Errorf("refs %v do not say how bob and carol got into top", p.Refs)
	}
	if v, ok := p.Refs.Via[plan.Via{Owner: "g-top", Member: "u-a"}]; ok {
		t.Errorf("alice is a direct member of top, but refs say she came through %q", v)
	}
}

func TestSourceResolvedNesting(t *testing.T) {
	d := (&dirBuilder{}).user("a", "alice").user("b", "bob").group("top", "top", "a").d
	// The source resolved top's members through a group it did not read.
	tm := plan.NewDNs("uid=a,ou=people", "uid=b,ou=people")
	d.Groups[0].Transitive = &tm
	p := mustPlan(t, &fake{}, rules(flat), &d, nil)
	g := p.Changes[len(p.Changes)-1]
	if !slices.Equal(g.After.Lists["members"], []string{"u-a", "u-b"}) || p.Refs.Name("g-top", "u-b") != "bob (via a nested group)" {
		t.Errorf("members %q refs %v", g.After.Lists["members"], p.Refs)
	}
}

func TestNestedGroupsKept(t *testing.T) {
	d := (&dirBuilder{}).user("a", "alice").user("b", "bob").
		group("top", "top", "a", "g:dev").group("dev", "dev", "b").d
	f := &fake{cur: []*plan.Object{group("hand", "hand", nil), group("g-top", "top", map[string][]string{"users": {"u-a"}, "nested": {"hand"}})}}
	p := mustPlan(t, f, rules(keep), &d, bind("g:top=g-top"))
	var top *plan.Change
	for i := range p.Changes {
		if p.Changes[i].Name() == "top" {
			top = &p.Changes[i]
		}
	}
	if top == nil {
		t.Fatalf("no change of top in %q", summary(p))
	}
	if !slices.Equal(top.After.Lists["users"], []string{"u-a"}) || !slices.Equal(top.After.Lists["nested"], []string{"g-dev", "hand"}) {
		t.Errorf("top's lists %v: want its direct users, the desired nested group and the unmanaged one", top.After.Lists)
	}
	if p.Refs.Names["g-dev"] != "dev" || p.Refs.Names["hand"] != "hand" {
		t.Errorf("refs %v", p.Refs)
	}
}

func TestCreateOnlyAttributes(t *testing.T) {
	d := (&dirBuilder{}).user("a", "alice", "userPassword", "s1").user("b", "bob", "userPassword", "s2").d
	f := &fake{cur: []*plan.Object{user("u-a", "alice", "")}}
	p := mustPlan(t, f, rules(flat), &d, bind("u:a=u-a"))
	if got := summary(p); !slices.Equal(got, []string{"+ user bob"}) {
		t.Fatalf("changes %q: a password the target does not return must not update alice", got)
	}
	if p.Changes[0].After.Attrs["password"] != "s2" || !p.Changes[0].After.IsSensitive("password") {
		t.Errorf("a create keeps its password, hidden: %+v", p.Changes[0].After)
	}
}

func TestPlanLeavesItsInputAlone(t *testing.T) {
	build := func() (*plan.Directory, plan.Bindings) {
		d := (&dirBuilder{}).user("a", "alice").user("b", "bob").group("g", "ops", "a", "b").d
		return &d, bind("u:a=u-a", "g:g=g-g", "u:x=u-x")
	}
	d, bs := build()
	f := &fake{cur: []*plan.Object{user("u-a", "al", ""), group("g-g", "ops", map[string][]string{"members": {"u-a"}})}}
	mustPlan(t, f, rules(flat), d, bs)
	wantD, wantBs := build()
	if !reflect.DeepEqual(d, wantD) || !reflect.DeepEqual(bs, wantBs) {
		t.Errorf("Plan changed its directory or bindings")
	}
}

func TestSkippedEntriesWarn(t *testing.T) {
	d := (&dirBuilder{}).user("a", "").group("g", "ops", "a").d
	p := mustPlan(t, &fake{}, rules(flat), &d, nil)
	if len(p.Warnings) != 1 || p.Warnings[0] != "user uid=a,ou=people has no cn and is skipped" {
		t.Errorf("warnings %q", p.Warnings)
	}
	if got := p.Changes[0].After.Lists["members"]; len(got) != 0 {
		t.Errorf("ops members %q: a skipped user is no member", got)
	}
}

func TestVanishedObjectsWarn(t *testing.T) {
	b := &dirBuilder{}
	for _, k := range []string{"a", "b", "c", "d", "e", "f", "g"} {
		b.user(k, "user"+k)
	}
	d := b.group("ops", "ops", "a").d
	// The state binds every user and the group; the target kept only
	// user a. User x was bound and is not desired: a delete, not this.
	bs := bind("u:a=u-a", "u:b=u-b", "u:c=u-c", "u:d=u-d", "u:e=u-e", "u:f=u-f", "u:g=u-g", "u:x=u-x", "g:ops=g-ops")
	f := &fake{cur: []*plan.Object{user("u-a", "usera", "")}}
	p := mustPlan(t, f, rules(flat), &d, bs)
	want := []string{
		`6 managed users were deleted outside ldapply: the state binds them, but Fake no longer has them ("userb", "userc", "userd", "usere", "userf" and 1 more); this plan creates them again. If that deletion was meant, take them out of the source instead`,
		`1 managed group was deleted outside ldapply: the state binds them, but Fake no longer has them ("ops"); this plan creates them again. If that deletion was meant, take them out of the source instead`,
	}
	if !slices.Equal(p.Warnings, want) {
		t.Errorf("warnings\n%q\nwant\n%q", p.Warnings, want)
	}
	// Creates of objects the state does not bind are plain creates.
	p = mustPlan(t, &fake{}, rules(flat), &d, nil)
	if len(p.Warnings) != 0 {
		t.Errorf("warnings %q for a first plan", p.Warnings)
	}
}

func TestUnresolvedMembersWarn(t *testing.T) {
	// b was renamed: ops still lists b's old DN, which matches no user.
	// dev lists a DN outside the source's scope and is otherwise in sync.
	d := (&dirBuilder{}).user("a", "alice").user("b", "bob").
		group("ops", "ops", "a", "b-old").group("dev", "dev", "a", "x1", "x2", "x3", "x4").d
	f := &fake{cur: []*plan.Object{
		user("u-a", "alice", ""), user("u-b", "bob", ""),
		group("g-ops", "ops", map[string][]string{"members": {"u-a", "u-b"}}),
		group("g-dev", "dev", map[string][]string{"members": {"u-a"}}),
	}}
	p := mustPlan(t, f, rules(flat), &d, bind("u:a=u-a", "u:b=u-b", "g:ops=g-ops", "g:dev=g-dev"))
	if got := summary(p); !slices.Equal(got, []string{"~ group ops"}) {
		t.Fatalf("changes %q", got)
	}
	want := []string{
		`group "ops": this plan only removes members the source still has ("bob") while the group lists 1 member DN that matches no user or group ldapply read (uid=b-old,ou=people); the removal may be caused only by those: if members were renamed, the directory may not have updated the group yet (slapd's refint overlay), so plan again once it has`,
		`group "dev" lists 4 member DNs that match no user or group ldapply read (uid=x1,ou=people; uid=x2,ou=people; uid=x3,ou=people; and 1 more): outside the source's bases or filters, or renamed and not yet updated in the group; they are left out of its members`,
	}
	if !slices.Equal(p.Warnings, want) {
		t.Errorf("warnings\n%q\nwant\n%q", p.Warnings, want)
	}
	// Kept nested groups: a member DN of no group read is reported too.
	d = (&dirBuilder{}).user("a", "alice").group("top", "top", "a", "g:gone").d
	p = mustPlan(t, &fake{}, rules(keep), &d, nil)
	if len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], `group "top" lists 1 member DN that matches no user or group ldapply read (cn=gone,ou=groups)`) {
		t.Errorf("warnings %q", p.Warnings)
	}
}

func TestManyGroupsWithUnresolvedMembers(t *testing.T) {
	b := &dirBuilder{}
	for i := range 12 {
		b.group(fmt.Sprint("g", i), fmt.Sprint("g", i), "nobody")
	}
	p := mustPlan(t, &fake{}, rules(flat), &b.d, nil)
	if len(p.Warnings) != 11 || p.Warnings[10] != "2 more groups list 2 member DNs that match no user or group ldapply read" {
		t.Errorf("warnings %q: want ten groups named, then a count", p.Warnings)
	}
}
