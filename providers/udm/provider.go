// Package udm is the Univention UCS target: users (users/user) and groups
// (groups/group) through the UDM REST API.
//
// # Identity
//
// The target id of an object is the source primary key, which ldapply
// writes to the key property (univentionObjectIdentifier by default) when
// it creates the object. It never changes, also not when the object is
// renamed (a new username or name, so a new DN); requests address the
// object by the DN its key has when apply reads UCS. An object in user_ou or group_ou
// whose key property holds the primary key of a source entry that the
// state does not know (the state was lost, or an apply was killed after
// the create) is adopted, never created twice.
//
// # Membership
//
// A group's users and nestedGroup are compared as lists of target ids
// (primary keys; the DN for members ldapply does not manage, which are
// kept). The DNs sent are computed after renames, so a renamed member,
// nested group included, needs no change of the groups that hold it: UDM
// rewrites them itself.
//
// # Requests
//
// The plan holds no request body: Apply builds each from the change and
// from UCS as it reads it then. An update sends the object as GET
// returns it, with the managed properties of the change's After, under
// If-Match with that GET's ETag, and only when the managed properties
// and member lists are still those the plan saw (the version).
package udm

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"maps"
	"math/big"
	"slices"
	"strings"
	"sync"

	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/planner"
	"github.com/ldapply/ldapply/providers"
	"github.com/ldapply/ldapply/providers/ldap"
	"github.com/ldapply/ldapply/providers/mapping"
	"github.com/ldapply/ldapply/providers/prefetch"
)

const (
	listUsers  = "users"
	listNested = "nestedGroup"
)

// Provider plans and applies changes to UCS users (kind user) and groups
// (kind group).
type Provider struct {
	cfg    Config
	client *Client
	log    *slog.Logger
	tmpl   map[plan.Kind]map[string]*mapping.Template
	// prefetched is the read Prefetch started, if any.
	prefetched *prefetch.Read[*snapshot]

	// at is where UCS keeps each object, read once per apply (see
	// withIndex); mu guards it, for Apply runs on several goroutines.
	mu sync.Mutex
	at *index
	// names holds, by kind and target id, the name each object the
	// apply creates or renames will have (see Prepare); guarded by mu.
	names map[plan.Kind]map[string]string
	// renames counts the renames the apply makes (see Prepare); guarded
	// by mu.
	renames int
	// born holds the lower-case DNs of the objects this apply created;
	// guarded by mu. A group can name one before it exists (a run killed
	// between its group writes left it so): Plan saw that member as a DN
	// it could not resolve, apply resolves it once the create landed, and
	// check takes both for the same member.
	born map[string]bool

	// readSource reads the directory again at apply, for a mapped
	// password (see SetSource); srcMu guards srcUsers.
	readSource func(ctx context.Context) (*plan.Directory, error)
	srcMu      sync.Mutex
	srcUsers   map[string]*plan.Entry
}

// passwordProp is the UDM user password property.
const passwordProp = "password"

// SetSource gives the provider a way to read the directory at apply time.
// It is needed only when user_properties maps password: plans store only
// a salted hash of it, so apply evaluates the template again.
func (p *Provider) SetSource(read func(ctx context.Context) (*plan.Directory, error)) {
	p.readSource = read
}

// New returns a provider for a resolved configuration.
func New(cfg Config, env providers.Env) (*Provider, error) {
	version, log := env.Version, env.Log
	client, err := NewClient(ClientConfig{URL: cfg.URL, Username: cfg.Username, Password: cfg.Password, CACert: cfg.CACert,
		InsecureSkipVerify: cfg.InsecureSkipVerify, ConnectTimeout: cfg.ConnectTimeout, ReadTimeout: cfg.ReadTimeout,
		KeyProperties: map[string]string{TypeUser: cfg.UserKeyProperty, TypeGroup: cfg.GroupKeyProperty},
		UserAgent:     "ldapply/" + version, Log: log})
	if err != nil {
		return nil, err
	}
	if cfg.InsecureSkipVerify && log != nil {
		log.Warn("TLS certificate verification of UDM is off (target.udm.insecure_skip_verify): anyone between ldapply and UCS can read its password; use target.udm.ca_cert instead.", "url", cfg.URL)
	}
	p := &Provider{cfg: cfg, client: client, log: log, tmpl: map[plan.Kind]map[string]*mapping.Template{}}
	for kind, m := range map[plan.Kind]map[string]string{plan.KindUser: cfg.UserProperties, plan.KindGroup: cfg.GroupProperties} {
		p.tmpl[kind] = map[string]*mapping.Template{}
		for prop, text := range m {
			t, err := mapping.Parse(prop, text)
			if err != nil {
				return nil, fmt.Errorf("target.udm %s property %s: %w", kind, prop, err)
			}
			p.tmpl[kind][prop] = t
		}
	}
	if env.Source != nil {
		// A mapped user password is evaluated again at apply: plans
		// hold only its hash.
		p.SetSource(ldap.New(*env.Source, log).Read)
	}
	return p, nil
}

// Describe names the target for plan headers: "udm <url>".
func (p *Provider) Describe() string { return "udm " + strings.TrimRight(p.cfg.URL, "/") + "/" }

func typeOf(k plan.Kind) string {
	if k == plan.KindUser {
		return TypeUser
	}
	return TypeGroup
}

func nameProp(k plan.Kind) string {
	if k == plan.KindUser {
		return "username"
	}
	return "name"
}

func rdnAttr(k plan.Kind) string {
	if k == plan.KindUser {
		return "uid"
	}
	return "cn"
}

func (p *Provider) ou(k plan.Kind) string {
	if k == plan.KindUser {
		return p.cfg.UserOU
	}
	return p.cfg.GroupOU
}

func (p *Provider) keyProp(k plan.Kind) string {
	if k == plan.KindUser {
		return p.cfg.UserKeyProperty
	}
	return p.cfg.GroupKeyProperty
}

// current is one object as read from UCS.
type current struct {
	kind plan.Kind
	id   string // the key property's value, or the DN when it has none
	dn   string
	raw  RawObject
	obj  *plan.Object
}

type snapshot struct {
	byID map[plan.Kind]map[string]*current
	byDN map[string]*current // lower-case DN
}

func str(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []any:
		if len(x) > 0 {
			return str(x[0])
		}
		return ""
	case float64:
		return fmt.Sprint(x)
	}
	return fmt.Sprint(v)
}

func strs(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, x := range l {
		if s, ok := x.(string); ok && s != "" {
			out = append(out, s)
		}
	}
	return out
}

// readLists reads the users and the groups under their OUs, in the
// order of plan.Kinds. Both lists are read at once: one is decoded while
// UCS still answers the other.
func (p *Provider) readLists(ctx context.Context) ([][]RawObject, error) {
	found := make([][]RawObject, len(plan.Kinds))
	errs := make([]error, len(plan.Kinds))
	var wg sync.WaitGroup
	for i, k := range plan.Kinds {
		wg.Go(func() { found[i], errs[i] = p.client.Search(ctx, typeOf(k), p.ou(k)) })
	}
	wg.Wait()
	for i, k := range plan.Kinds {
		if errs[i] != nil {
			return nil, fmt.Errorf("udm: read %s under %s: %w", typeOf(k), p.ou(k), errs[i])
		}
	}
	return found, nil
}

func (p *Provider) read(ctx context.Context) (*snapshot, error) {
	s := &snapshot{byID: map[plan.Kind]map[string]*current{}, byDN: map[string]*current{}}
	found, err := p.readLists(ctx)
	if err != nil {
		return nil, err
	}
	for i, k := range plan.Kinds {
		s.byID[k] = map[string]*current{}
		for _, o := range found[i] {
			props := o.Properties()
			c := &current{kind: k, id: str(props[p.keyProp(k)]), dn: o.DN(), raw: o}
			if c.id == "" {
				c.id = c.dn
			}
			s.byID[k][c.id] = c
			s.byDN[strings.ToLower(c.dn)] = c
		}
	}
	// Plan objects, with member DNs turned into ids.
	for _, k := range plan.Kinds {
		for _, c := range s.byID[k] {
			c.obj = p.object(k, c.id, c.raw.Properties(), s.ids)
		}
	}
	return s, nil
}

// object is the plan object of kind k and target id id whose UDM
// properties are props: the managed properties (but the password,
// which UDM never returns) and, for a group, its member lists as target
// ids, which ids makes of the DNs. Plan and apply both read objects
// through it, so that their versions compare like with like.
func (p *Provider) object(k plan.Kind, id string, props map[string]any, ids func([]string) []string) *plan.Object {
	// Version is left for Plan to set on the objects a change touches:
	// hashing every object read would cost as much as decoding it.
	o := &plan.Object{Kind: k, ID: id, Name: str(props[nameProp(k)]), Attrs: map[string]string{}}
	for prop := range p.tmpl[k] {
		if prop == passwordProp {
			continue
		}
		if v := str(props[prop]); v != "" {
			o.Attrs[prop] = v
		}
	}
	if k == plan.KindGroup {
		o.Lists = map[string][]string{listUsers: ids(strs(props[listUsers])), listNested: ids(strs(props[listNested]))}
	}
	return o
}

// version is an object's version: a hash of what ldapply manages of it,
// its managed properties and member lists (an empty list is no list).
// What UDM holds besides is not part of it: apply writes it back as it
// reads it.
func version(o *plan.Object) string {
	lists := map[string][]string{}
	for l, ids := range o.Lists {
		if len(ids) > 0 {
			lists[l] = ids
		}
	}
	return plan.VersionOf(struct {
		Attrs map[string]string
		Lists map[string][]string
	}{o.Attrs, lists})
}

func (s *snapshot) ids(dns []string) []string {
	out := make([]string, 0, len(dns))
	for _, dn := range dns {
		if c, ok := s.byDN[strings.ToLower(dn)]; ok {
			out = append(out, c.id)
		} else {
			out = append(out, dn)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// SourceAttributes names the user attributes the user property mapping
// reads, so the source asks for those alone; nil means every attribute.
func (p *Provider) SourceAttributes() []string {
	return mapping.Attributes(slices.Collect(maps.Values(p.tmpl[plan.KindUser]))...)
}

func (p *Provider) properties(k plan.Kind, e *plan.Entry, buf *bytes.Buffer) (map[string]string, error) {
	out := map[string]string{}
	for prop, t := range p.tmpl[k] {
		v, err := t.Execute(e, buf)
		if err != nil {
			return nil, fmt.Errorf("udm: %s property %s for %s: %w", k, prop, e.DN, err)
		}
		if v != "" {
			if prop == "mailPrimaryAddress" {
				v = strings.ToLower(v) // UDM stores it lower-cased
			}
			out[prop] = v
		}
	}
	return out, nil
}

// EscapeRDN escapes an attribute value for use in a DN (RFC 4514).
func EscapeRDN(v string) string {
	var b strings.Builder
	for i, r := range v {
		if strings.ContainsRune(`,+"\<>;=`, r) || i == 0 && (r == ' ' || r == '#') || i == len(v)-1 && r == ' ' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func parentDN(dn string) string {
	for i := 0; i < len(dn); i++ {
		switch dn[i] {
		case '\\':
			i++
		case ',':
			return dn[i+1:]
		}
	}
	return ""
}

// Prefetch starts reading UCS in the background, so that the read
// overlaps the directory's; the next Plan uses its result.
func (p *Provider) Prefetch(ctx context.Context) {
	p.prefetched = prefetch.Start(ctx, p.read)
}

// Plan reads UCS and computes the changes that make it match dir.
func (p *Provider) Plan(ctx context.Context, dir *plan.Directory, bindings plan.Bindings) (*plan.Plan, error) {
	t := &planning{p: p}
	res, err := planner.Plan(ctx, t, p.rules(t), dir, bindings)
	if err != nil {
		return nil, err
	}
	return res, nil
}

// rules are what UCS declares to the planner.
func (p *Provider) rules(t *planning) *planner.Rules {
	return &planner.Rules{
		Target:     "UCS",
		NameField:  map[plan.Kind]string{plan.KindUser: nameProp(plan.KindUser), plan.KindGroup: nameProp(plan.KindGroup)},
		Limits:     Limits,
		Members:    planner.Membership{Users: listUsers, Groups: listNested},
		CreateOnly: []string{passwordProp},
		Unmanaged: func(o *plan.Object) (string, string) {
			dn := o.ID
			if c, ok := t.snap.byID[o.Kind][o.ID]; ok {
				dn = c.dn
			}
			prop := p.keyProp(o.Kind)
			return "the UCS object " + dn, fmt.Sprintf("its %s is not the source's primary key: rename or delete it in UCS, or set its %s", prop, prop)
		},
	}
}

// planning is one plan's view of UCS, for the planner.
type planning struct {
	p    *Provider
	snap *snapshot
	buf  bytes.Buffer
}

// Desire maps a source entry to the UCS object its properties make. A
// mapped password is kept as a salted hash: apply writes the clear value,
// on create only (UDM never returns it).
func (t *planning) Desire(k plan.Kind, e *plan.Entry) (*plan.Object, string, error) {
	props, err := t.p.properties(k, e, &t.buf)
	if err != nil {
		return nil, "", err
	}
	name := props[nameProp(k)]
	if name == "" {
		return nil, fmt.Sprintf("%s %s has no %s (target.udm %s_properties.%s is empty) and is skipped", k, e.DN, nameProp(k), k, nameProp(k)), nil
	}
	o := &plan.Object{Name: name, Attrs: props}
	if pw, ok := props[passwordProp]; ok {
		props[passwordProp] = plan.HashSecret(plan.NewSalt(), pw)
		o.Sensitive = []string{passwordProp}
	}
	return o, "", nil
}

// NewID is the source primary key: ldapply writes it to the key
// property.
func (t *planning) NewID(_ plan.Kind, key, _ string) string { return key }

// Current returns UCS's users and groups, from the read Prefetch started
// or a new one.
func (t *planning) Current(ctx context.Context) (*planner.Current, error) {
	snap, err := prefetch.Take(ctx, &t.p.prefetched, t.p.read)
	if err != nil {
		return nil, err
	}
	t.snap = snap
	cur := &planner.Current{Counts: map[string]int{
		"target users": len(snap.byID[plan.KindUser]), "target groups": len(snap.byID[plan.KindGroup]),
	}}
	for _, k := range plan.Kinds {
		for _, c := range snap.byID[k] {
			cur.Objects = append(cur.Objects, c.obj)
		}
	}
	return cur, nil
}

// SetVersions versions what ldapply manages of each object, as apply
// computes it again before it writes.
func (t *planning) SetVersions(objs []*plan.Object) {
	for _, o := range objs {
		o.Version = version(o)
	}
}

// sourcePassword evaluates the password template for the source user
// with key again (the directory is read once per provider) and checks it
// against the hash in the plan.
func (p *Provider) sourcePassword(ctx context.Context, key, hash string) (string, error) {
	p.srcMu.Lock()
	defer p.srcMu.Unlock()
	if p.srcUsers == nil {
		if p.readSource == nil {
			return "", fmt.Errorf("udm: user_properties.password is mapped, but this ldapply cannot read the source at apply time")
		}
		dir, err := p.readSource(ctx)
		if err != nil {
			return "", fmt.Errorf("udm: read the source for user_properties.password: %w", err)
		}
		p.srcUsers = map[string]*plan.Entry{}
		for _, e := range dir.Users {
			p.srcUsers[e.Key] = e
		}
	}
	e, ok := p.srcUsers[key]
	if !ok {
		return "", fmt.Errorf("udm: the source user with key %s is gone since the plan was made; run plan again", key)
	}
	var buf bytes.Buffer
	pw, err := p.tmpl[plan.KindUser][passwordProp].Execute(e, &buf)
	if err != nil {
		return "", fmt.Errorf("udm: user_properties.password for %s: %w", e.DN, err)
	}
	if !plan.SecretMatches(hash, pw) {
		return "", fmt.Errorf("udm: the password of source user %s changed since the plan was made; run plan again", e.DN)
	}
	return pw, nil
}

// search finds the DN of the object with key, reading UCS now.
func (p *Provider) search(ctx context.Context, k plan.Kind, key string) (string, error) {
	objs, err := p.client.Search(ctx, typeOf(k), p.ou(k))
	if err != nil {
		return "", err
	}
	for _, o := range objs {
		if str(o.Properties()[p.keyProp(k)]) == key {
			return o.DN(), nil
		}
	}
	return "", nil
}

// randomPassword returns 24 characters from letters, digits and
// punctuation, with at least one of each class (UCS password quality).
func randomPassword() (string, error) {
	classes := []string{"abcdefghijkmnopqrstuvwxyz", "ABCDEFGHJKLMNPQRSTUVWXYZ", "23456789", "-_.:!+*#"}
	all := strings.Join(classes, "")
	out := make([]byte, 24)
	pick := func(set string) (byte, error) {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(set))))
		if err != nil {
			return 0, fmt.Errorf("udm: generate a password: %w", err)
		}
		return set[n.Int64()], nil
	}
	var err error
	for i := range out {
		set := all
		if i < len(classes) {
			set = classes[i]
		}
		if out[i], err = pick(set); err != nil {
			return "", err
		}
	}
	// Shuffle so the classes are not at fixed places.
	for i := len(out) - 1; i > 0; i-- {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(i+1)))
		if err != nil {
			return "", err
		}
		j := n.Int64()
		out[i], out[j] = out[j], out[i]
	}
	return string(out), nil
}
