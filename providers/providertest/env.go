package providertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ldapply/ldapply/apply"
	"github.com/ldapply/ldapply/fixtures/slapd"
	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/planfile"
	"github.com/ldapply/ldapply/providers/ldap"
	"github.com/ldapply/ldapply/state"
)

// Parallelism is what apply runs at: the CLI's default.
const Parallelism = 10

// Suffix and the bases of the suite's directory.
const (
	Suffix     = "dc=example,dc=com"
	PeopleBase = "ou=people," + Suffix
	GroupsBase = "ou=groups," + Suffix
)

// directoryLDIF is the suite's directory: every user has a mail, a cn,
// a sn and a givenName; all-staff nests ops and dev; grace is in no
// group.
var directoryLDIF = `dn: dc=example,dc=com
objectClass: dcObject
objectClass: organization
dc: example
o: Example Corp

dn: ou=people,dc=example,dc=com
objectClass: organizationalUnit
ou: people

dn: ou=groups,dc=example,dc=com
objectClass: organizationalUnit
ou: groups

dn: cn=svc-sync,dc=example,dc=com
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: svc-sync
userPassword: sync-secret
` + users + `
dn: cn=ops,ou=groups,dc=example,dc=com
objectClass: groupOfNames
cn: ops
description: Operations
member: uid=alice,ou=people,dc=example,dc=com
member: uid=bob,ou=people,dc=example,dc=com
member: uid=carol,ou=people,dc=example,dc=com

dn: cn=dev,ou=groups,dc=example,dc=com
objectClass: groupOfNames
cn: dev
description: Development
member: uid=carol,ou=people,dc=example,dc=com
member: uid=dave,ou=people,dc=example,dc=com
member: uid=erin,ou=people,dc=example,dc=com

dn: cn=all-staff,ou=groups,dc=example,dc=com
objectClass: groupOfNames
cn: all-staff
member: cn=ops,ou=groups,dc=example,dc=com
member: cn=dev,ou=groups,dc=example,dc=com
member: uid=frank,ou=people,dc=example,dc=com
`

var users = func() string {
	var b strings.Builder
	for _, u := range []struct{ uid, given, sn string }{
		{"alice", "Alice", "Archer"}, {"bob", "Bob", "Baker"}, {"carol", "Carol", "Chen"},
		{"dave", "Dave", "Dunn"}, {"erin", "Erin", "Evans"}, {"frank", "Frank", "Fox"}, {"grace", "Grace", "Green"},
	} {
		b.WriteString(userLDIF(u.uid, u.given, u.sn))
	}
	return b.String()
}()

// userLDIF is the LDIF of a new user.
func userLDIF(uid, given, sn string) string {
	return fmt.Sprintf(`
dn: uid=%s,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: %[1]s
cn: %s %s
givenName: %[2]s
sn: %[3]s
mail: %[1]s@example.com
`, uid, given, sn)
}

// Env is one case's world: the directory, the simulator, the state.
type Env struct {
	T    *testing.T
	H    Harness
	Sim  *Sim
	LDAP *slapd.Server // nil unless H.Directory
	Src  ldap.Config
	// State is the state backend; a case may replace it (a lost state).
	State state.Backend
	// handMade are the objects seeded by hand, as seeded, by kind and
	// name; they must stay as they are.
	handMade map[plan.Kind]map[string]Object
	// baseline is what the target held after the first sync, for
	// targets whose desired state is the configuration.
	baseline []Object
}

// NewEnv starts slapd (for Directory targets) and a simulator, with a
// new state in a temporary directory.
func NewEnv(t *testing.T, h Harness) *Env {
	t.Helper()
	e := &Env{T: t, H: h, handMade: map[plan.Kind]map[string]Object{}}
	e.Src = ldap.Config{
		URI: "ldap://127.0.0.1:9", AllowInsecure: true,
		BindDN: "cn=svc-sync," + Suffix, BindPassword: "sync-secret",
		ConnectDelay: ldap.Duration(50 * time.Millisecond),
		Users:        ldap.UserConfig{SearchConfig: ldap.SearchConfig{Base: PeopleBase}},
		Groups:       ldap.GroupConfig{SearchConfig: ldap.SearchConfig{Base: GroupsBase}},
	}
	if h.Directory {
		file := filepath.Join(t.TempDir(), "directory.ldif")
		if err := os.WriteFile(file, []byte(directoryLDIF), 0o600); err != nil {
			t.Fatal(err)
		}
		e.LDAP = slapd.StartT(t, slapd.Options{LDIF: []string{file}})
		e.Src.URI = e.LDAP.URL
	}
	if err := e.Src.Resolve(); err != nil {
		t.Fatal(err)
	}
	e.Sim = h.Start(t, e.Src)
	e.State = state.File{Path: filepath.Join(t.TempDir(), "ldapply.state")}
	return e
}

// Run runs fn as subtest name of t, with e reporting to the subtest.
func (e *Env) Run(t *testing.T, name string, fn func(t *testing.T)) {
	t.Run(name, func(sub *testing.T) {
		parent := e.T
		e.T = sub
		defer func() { e.T = parent }()
		fn(sub)
	})
}

// LDIF changes the directory.
func (e *Env) LDIF(s string) {
	e.T.Helper()
	if err := e.LDAP.Apply(s); err != nil {
		e.T.Fatal(err)
	}
}

// ctx is the context of one command.
func (e *Env) ctx() context.Context { return e.T.Context() }

// Plan makes a plan with a new provider the way `ldapply plan` does.
func (e *Env) Plan() (*plan.Plan, error) {
	ctx := e.ctx()
	if err := e.State.Init(ctx, time.Second); err != nil {
		return nil, err
	}
	snap, err := e.State.Read(ctx, time.Second)
	if err != nil {
		return nil, err
	}
	tgt := e.Sim.New()
	dir := &plan.Directory{}
	if sl, ok := tgt.(interface{ NeedsSource() bool }); !ok || sl.NeedsSource() {
		if dir, err = e.readDirectory(tgt); err != nil {
			return nil, err
		}
	}
	p, err := tgt.Plan(ctx, dir, snap.Bindings)
	if err != nil {
		return nil, err
	}
	p.FormatVersion = planfile.FormatVersion
	p.Lineage, p.Serial = snap.Lineage, snap.Serial
	p.Target = tgt.Describe()
	return p, nil
}

func (e *Env) readDirectory(tgt Provider) (*plan.Directory, error) {
	src := ldap.New(e.Src, nil)
	if ar, ok := tgt.(interface{ SourceAttributes() []string }); ok {
		src.UserAttributes = ar.SourceAttributes()
	}
	return src.Read(e.ctx())
}

// MustPlan is Plan, failing the test on an error.
func (e *Env) MustPlan() *plan.Plan {
	e.T.Helper()
	p, err := e.Plan()
	if err != nil {
		e.T.Fatalf("plan: %v", err)
	}
	return p
}

// Apply applies p with a new provider the way `ldapply apply` does: it
// locks the state, checks the plan against it, runs the drift check
// when the provider has one, and applies at Parallelism.
func (e *Env) Apply(p *plan.Plan) (res *apply.Result, err error) {
	ctx := e.ctx()
	tgt := e.Sim.New()
	locked, err := e.State.Lock(ctx, state.NewLockInfo("apply", "providertest"), time.Second)
	if err != nil {
		return nil, err
	}
	defer func() {
		if uerr := locked.Unlock(); uerr != nil && err == nil {
			err = uerr
		}
	}()
	snap, err := locked.Snapshot()
	if err != nil {
		return nil, err
	}
	if err := apply.Check(p, apply.Expect{Lineage: snap.Lineage, Serial: snap.Serial, Target: tgt.Describe()}); err != nil {
		return nil, err
	}
	if len(p.Changes) == 0 {
		return &apply.Result{Done: map[plan.Action]int{}}, nil
	}
	if vr, ok := tgt.(apply.VersionReader); ok {
		if err := apply.CheckDrift(ctx, p, vr); err != nil {
			return nil, err
		}
	}
	if _, err := locked.BumpSerial(); err != nil {
		return nil, err
	}
	return apply.Run(ctx, p, tgt, locked, apply.Options{Parallelism: Parallelism})
}

// MustApply is Apply, failing the test unless every change succeeded.
func (e *Env) MustApply(p *plan.Plan) *apply.Result {
	e.T.Helper()
	res, err := e.Apply(p)
	if err != nil {
		e.T.Fatalf("apply: %v", err)
	}
	if res.Skipped > 0 || len(res.Failed) > 0 {
		e.T.Fatalf("apply: %d failed, %d not started", len(res.Failed), res.Skipped)
	}
	return res
}

// Sync plans, applies every change, checks that a second plan is empty
// and that the target holds what it should (see Converged). It returns
// the first plan.
func (e *Env) Sync() *plan.Plan {
	e.T.Helper()
	p := e.MustPlan()
	e.MustApply(p)
	e.Converged()
	return p
}

// Converged checks that a new plan is empty and that the target holds
// the desired state: for Directory targets every user and group of the
// directory, bound in the state to its source key, and the hand-made
// objects as seeded; otherwise what the first sync left.
func (e *Env) Converged() {
	e.T.Helper()
	again := e.MustPlan()
	if n := len(again.Changes); n > 0 {
		e.T.Fatalf("a plan right after the apply is not empty: %s", describe(again))
	}
	got := e.Sim.Objects()
	if !e.H.Directory {
		if e.baseline == nil {
			e.baseline = got
			return
		}
		e.compare(e.baseline, got, "the state after the first sync")
		return
	}
	want, keys := e.desired()
	e.compareDirectory(want, got)
	e.checkBindings(keys, got)
}

// desired computes the objects the directory asks for, with their
// source keys by kind and name.
func (e *Env) desired() ([]Object, map[plan.Kind]map[string]string) {
	e.T.Helper()
	dir, err := ldap.New(e.Src, nil).Read(e.ctx())
	if err != nil {
		e.T.Fatalf("read the directory: %v", err)
	}
	keys := map[plan.Kind]map[string]string{plan.KindUser: {}, plan.KindGroup: {}}
	names := map[string]string{} // NormDN -> name
	for _, u := range dir.Users {
		names[u.NormDN] = u.First("uid")
	}
	groups := map[string]*plan.Entry{}
	for _, g := range dir.Groups {
		names[g.NormDN] = g.First("cn")
		groups[g.NormDN] = g
	}
	var out []Object
	for _, u := range dir.Users {
		keys[plan.KindUser][u.First("uid")] = u.Key
		out = append(out, Object{Kind: plan.KindUser, Name: u.First("uid"), Props: props(u, e.H.UserProps)})
	}
	for _, g := range dir.Groups {
		keys[plan.KindGroup][g.First("cn")] = g.Key
		var members []string
		for m := range g.Members.All() {
			switch {
			case groups[m] != nil && e.H.Flatten:
				members = append(members, flatten(groups[m], groups, names)...)
			case names[m] != "":
				members = append(members, names[m])
			}
		}
		out = append(out, Object{Kind: plan.KindGroup, Name: g.First("cn"), Members: sortedSet(members), Props: props(g, e.H.GroupProps)})
	}
	return out, keys
}

// flatten returns the names of the users in g and its nested groups.
func flatten(g *plan.Entry, groups map[string]*plan.Entry, names map[string]string) []string {
	var out []string
	for m := range g.Members.All() {
		if sub := groups[m]; sub != nil {
			out = append(out, flatten(sub, groups, names)...)
		} else if names[m] != "" {
			out = append(out, names[m])
		}
	}
	return out
}

func props(e *plan.Entry, m map[string]string) map[string]string {
	out := map[string]string{}
	for prop, attr := range m {
		if v := e.First(attr); v != "" {
			out[prop] = v
		}
	}
	return out
}

func sortedSet(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}

// compareDirectory checks that got holds exactly the desired objects
// and the hand-made ones (a hand-made member of a managed group is
// kept), each once.
func (e *Env) compareDirectory(want, got []Object) {
	e.T.Helper()
	handMade := map[string]bool{}
	for _, byName := range e.handMade {
		for name := range byName {
			handMade[name] = true
		}
	}
	for i, w := range want {
		if w.Kind != plan.KindGroup {
			continue
		}
		for _, g := range got {
			if g.Kind == plan.KindGroup && g.Name == w.Name {
				for _, m := range g.Members {
					if handMade[m] {
						want[i].Members = sortedSet(append(want[i].Members, m))
					}
				}
			}
		}
	}
	for _, k := range []plan.Kind{plan.KindUser, plan.KindGroup} {
		for _, h := range e.handMade[k] {
			want = append(want, h)
		}
	}
	e.compare(want, got, "the directory")
}

// compare checks got against want by kind and name: the same objects,
// each once, with the same members and the properties want names.
func (e *Env) compare(want, got []Object, what string) {
	e.T.Helper()
	byName := map[string][]Object{}
	for _, o := range got {
		byName[string(o.Kind)+" "+o.Name] = append(byName[string(o.Kind)+" "+o.Name], o)
	}
	var problems []string
	for _, w := range want {
		name := string(w.Kind) + " " + w.Name
		os := byName[name]
		delete(byName, name)
		switch {
		case len(os) == 0:
			problems = append(problems, name+" is missing")
			continue
		case len(os) > 1:
			problems = append(problems, fmt.Sprintf("%s is there %d times", name, len(os)))
		}
		g := os[0]
		if !slices.Equal(sortedSet(slices.Clone(g.Members)), sortedSet(slices.Clone(w.Members))) {
			problems = append(problems, fmt.Sprintf("%s has members %v, want %v", name, g.Members, w.Members))
		}
		for p, v := range w.Props {
			if g.Props[p] != v {
				problems = append(problems, fmt.Sprintf("%s has %s %q, want %q", name, p, g.Props[p], v))
			}
		}
	}
	for name := range byName {
		problems = append(problems, name+" should not be there")
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		e.T.Fatalf("the target does not match %s:\n  %s", what, strings.Join(problems, "\n  "))
	}
}

// checkBindings checks that the state binds every desired object's
// source key to the id of the target object of that name (the id
// derived from the key, when the target derives ids).
func (e *Env) checkBindings(keys map[plan.Kind]map[string]string, got []Object) {
	e.T.Helper()
	snap, err := e.State.Read(e.ctx(), time.Second)
	if err != nil {
		e.T.Fatal(err)
	}
	ids := map[string]string{}
	for _, o := range got {
		ids[string(o.Kind)+" "+o.Name] = o.ID
	}
	for kind, byName := range keys {
		if n := len(snap.Bindings[kind]); n != len(byName) {
			e.T.Errorf("the state binds %d %ss, want %d", n, kind, len(byName))
		}
		for name, key := range byName {
			b, ok := snap.Bindings[kind][key]
			id := ids[string(kind)+" "+name]
			switch {
			case !ok:
				e.T.Errorf("the state does not bind %s %s (key %s)", kind, name, key)
			case b.ID != id:
				e.T.Errorf("the state binds %s %s to id %s, but the target has it at %s", kind, name, b.ID, id)
			case e.H.DerivedID != nil && id != e.H.DerivedID(kind, key):
				e.T.Errorf("%s %s has id %s, want %s derived from its key %s", kind, name, id, e.H.DerivedID(kind, key), key)
			}
		}
	}
}

// Seed stores a hand-made object and remembers it, as the target shows
// it, as one that must stay as it is.
func (e *Env) Seed(o Object) {
	e.T.Helper()
	e.Sim.Seed(o)
	if e.handMade[o.Kind] == nil {
		e.handMade[o.Kind] = map[string]Object{}
	}
	e.handMade[o.Kind][o.Name] = e.Find(o.Kind, o.Name)
}

// Find returns the target object of kind named name, failing the test
// when there is none.
func (e *Env) Find(kind plan.Kind, name string) Object {
	e.T.Helper()
	for _, o := range e.Sim.Objects() {
		if o.Kind == kind && o.Name == name {
			return o
		}
	}
	e.T.Fatalf("the target has no %s %s", kind, name)
	return Object{}
}

// Has reports whether the target holds an object of kind named name.
func (e *Env) Has(kind plan.Kind, name string) bool {
	for _, o := range e.Sim.Objects() {
		if o.Kind == kind && o.Name == name {
			return true
		}
	}
	return false
}

// describe lists a plan's changes, for failure messages.
func describe(p *plan.Plan) string {
	var out []string
	for i := range p.Changes {
		c := &p.Changes[i]
		out = append(out, fmt.Sprintf("%s %s %s", c.Action, c.Kind, c.Name()))
	}
	return fmt.Sprintf("%d changes: %s", len(out), strings.Join(out, ", "))
}

// WantChanges checks that p holds exactly the changes want, each
// written "<action> <kind> <name>" (as describe writes them), in any
// order.
func WantChanges(t testing.TB, p *plan.Plan, want ...string) {
	t.Helper()
	var got []string
	for i := range p.Changes {
		c := &p.Changes[i]
		got = append(got, fmt.Sprintf("%s %s %s", c.Action, c.Kind, c.Name()))
	}
	slices.Sort(got)
	want = slices.Sorted(slices.Values(want))
	if !slices.Equal(got, want) {
		t.Fatalf("plan changes = %q, want %q", got, want)
	}
}

// errorsIs reports whether err or one of the change errors it joins
// wraps target.
func errorsIs(err, target error) bool { return target != nil && errors.Is(err, target) }
