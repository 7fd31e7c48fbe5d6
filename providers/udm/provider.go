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
	"github.com/ldapply/ldapply/providers/limits"
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
func New(cfg Config, version string, log *slog.Logger) (*Provider, error) {
	client, err := NewClient(ClientConfig{URL: cfg.URL, Username: cfg.Username, Password: cfg.Password, CACert: cfg.CACert,
		InsecureSkipVerify: cfg.InsecureSkipVerify, ConnectTimeout: cfg.ConnectTimeout, ReadTimeout: cfg.ReadTimeout,
		KeyProperties: map[string]string{TypeUser: cfg.UserKeyProperty, TypeGroup: cfg.GroupKeyProperty},
		UserAgent:     "ldapply/" + version})
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

func (p *Provider) read(ctx context.Context) (*snapshot, error) {
	s := &snapshot{byID: map[plan.Kind]map[string]*current{}, byDN: map[string]*current{}}
	// Both lists at once: one is decoded while UCS still answers the other.
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
	snap, err := prefetch.Take(ctx, &p.prefetched, p.read)
	if err != nil {
		return nil, err
	}
	res := &plan.Plan{Refs: map[string]string{}, Counts: map[string]int{
		"source users": len(dir.Users), "source groups": len(dir.Groups),
		"target users": len(snap.byID[plan.KindUser]), "target groups": len(snap.byID[plan.KindGroup]),
		"managed users": len(bindings[plan.KindUser]), "managed groups": len(bindings[plan.KindGroup]),
	}}
	var buf bytes.Buffer
	var problems []string
	var desired []*plan.Object
	keyByDN := map[plan.Kind]map[string]string{plan.KindUser: {}, plan.KindGroup: {}} // source NormDN -> key
	managed := map[string]bool{}                                                      // ids ldapply manages, both kinds
	held := map[plan.Kind][]string{}                                                  // keys of managed objects UCS cannot store now
	for _, k := range plan.Kinds {
		for key := range bindings[k] {
			managed[key] = true
		}
	}
	for _, k := range plan.Kinds {
		entries := dir.Users
		if k == plan.KindGroup {
			entries = dir.Groups
		}
		byName := map[string]string{}
		for _, e := range entries {
			props, err := p.properties(k, e, &buf)
			if err != nil {
				return nil, err
			}
			name := props[nameProp(k)]
			if name == "" {
				res.Warnings = append(res.Warnings, fmt.Sprintf("%s %s has no %s (target.udm %s_properties.%s is empty) and is skipped", k, e.DN, nameProp(k), k, nameProp(k)))
				continue
			}
			if v, ok := Limits.Check(k, props); !ok {
				// Left out; a managed object is held: taken for one
				// ldapply does not manage, neither updated nor deleted,
				// and kept in the groups that hold it.
				_, bound := bindings[k][e.Key]
				if bound {
					held[k] = append(held[k], e.Key)
					delete(managed, e.Key)
				}
				res.Warnings = append(res.Warnings, v.Warning(k, e.DN, "UCS", bound))
				continue
			}
			if other, dup := byName[strings.ToLower(name)]; dup {
				problems = append(problems, fmt.Sprintf("source %ss %s and %s both map to %s %q; UCS names are unique", k, other, e.DN, nameProp(k), name))
				continue
			}
			byName[strings.ToLower(name)] = e.DN
			o := &plan.Object{Kind: k, Key: e.Key, ID: e.Key, Name: name, Attrs: props}
			if pw, ok := props[passwordProp]; ok {
				// Written on create only (UDM never returns it): the
				// plan keeps a salted hash, apply the clear value.
				delete(props, passwordProp)
				if _, exists := snap.byID[k][e.Key]; !exists {
					props[passwordProp] = plan.HashSecret(plan.NewSalt(), pw)
					o.Sensitive = []string{passwordProp}
				}
			}
			desired = append(desired, o)
			keyByDN[k][e.NormDN] = e.Key
			managed[e.Key] = true
			res.Refs[e.Key] = name
		}
		// A name held by an object ldapply does not manage blocks the sync.
		for _, c := range snap.byID[k] {
			if managed[c.id] {
				continue
			}
			if dn, ok := byName[strings.ToLower(c.obj.Name)]; ok {
				problems = append(problems, fmt.Sprintf("source %s %s maps to %s %q, which the UCS object %s already has and ldapply does not manage (its %s is not the source's primary key); rename or delete it in UCS, or set its %s", k, dn, nameProp(k), c.obj.Name, c.dn, p.keyProp(k), p.keyProp(k)))
			}
		}
	}
	// Group members, as ids; members ldapply does not manage are kept.
	groupEntry := map[string]*plan.Entry{}
	for _, g := range dir.Groups {
		groupEntry[g.Key] = g
	}
	for _, o := range desired {
		if o.Kind != plan.KindGroup {
			continue
		}
		lists := map[string][]string{listUsers: {}, listNested: {}}
		for m := range groupEntry[o.Key].Members.All() {
			if key, ok := keyByDN[plan.KindUser][m]; ok {
				lists[listUsers] = append(lists[listUsers], key)
			} else if key, ok := keyByDN[plan.KindGroup][m]; ok {
				lists[listNested] = append(lists[listNested], key)
			}
		}
		if cur, ok := snap.byID[plan.KindGroup][o.Key]; ok {
			for _, l := range []string{listUsers, listNested} {
				for _, id := range cur.obj.Lists[l] {
					if !managed[id] {
						lists[l] = append(lists[l], id)
					}
				}
			}
		}
		for l := range lists {
			slices.Sort(lists[l])
			lists[l] = slices.Compact(lists[l])
		}
		o.Lists = lists
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		return nil, &plan.ConflictError{Problems: problems}
	}
	var cur []*plan.Object
	for _, k := range plan.Kinds {
		for _, c := range snap.byID[k] {
			cur = append(cur, c.obj)
			if _, ok := res.Refs[c.id]; !ok && c.id != c.dn {
				res.Refs[c.id] = c.obj.Name
			}
		}
	}
	changes, err := plan.Diff(plan.Input{Desired: desired, Current: cur, Bindings: limits.Without(bindings, held)})
	if err != nil {
		return nil, err
	}
	for i := range changes {
		// An object gone from UCS keeps its empty Version.
		if b := changes[i].Before; b != nil && b.Version == "" {
			if c, ok := snap.byID[b.Kind][b.ID]; ok && c.obj == b {
				b.Version = version(b)
			}
		}
	}
	// Keep only the refs the changes use.
	used := map[string]string{}
	for i := range changes {
		for _, o := range []*plan.Object{changes[i].Before, changes[i].After} {
			if o == nil {
				continue
			}
			for _, l := range o.Lists {
				for _, id := range l {
					if n, ok := res.Refs[id]; ok {
						used[id] = n
					}
				}
			}
		}
	}
	res.Refs = used
	res.Changes = changes
	return res, nil
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
