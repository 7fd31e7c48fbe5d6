// Package udm is the Univention UCS target: users (users/user) and groups
// (groups/group) through the UDM REST API.
//
// # Identity
//
// The target id of an object is the source primary key, which ldapply
// writes to the key property (univentionObjectIdentifier by default) when
// it creates the object. It never changes, also not when the object is
// renamed (a new username or name, so a new DN); requests address the
// object by the DN read at plan time. An object in user_ou or group_ou
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
package udm

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"math/big"
	"net/http"
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

	mu    sync.Mutex
	index map[plan.Kind]map[string]string // key -> DN, for deletes

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
			props := c.raw.Properties()
			// Version is left for Plan to set on the objects a change
			// touches: hashing every object read would cost as much as
			// decoding it.
			o := &plan.Object{Kind: k, ID: c.id, Name: str(props[nameProp(k)]), Attrs: map[string]string{}}
			for prop := range p.tmpl[k] {
				if prop == passwordProp {
					continue
				}
				if v := str(props[prop]); v != "" {
					o.Attrs[prop] = v
				}
			}
			if k == plan.KindGroup {
				o.Lists = map[string][]string{listUsers: s.ids(strs(props[listUsers])), listNested: s.ids(strs(props[listNested]))}
			}
			c.obj = o
		}
	}
	return s, nil
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
	res := &plan.Plan{Refs: plan.Refs{Names: map[string]string{}}, Counts: map[string]int{
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
			res.Refs.Names[e.Key] = name
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
			if _, ok := res.Refs.Names[c.id]; !ok && c.id != c.dn {
				res.Refs.Names[c.id] = c.obj.Name
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
				b.Version = plan.VersionOf(c.raw)
			}
		}
	}

	// DNs after renames, for member lists.
	finalDN := map[string]string{}
	for _, o := range desired {
		parent := p.ou(o.Kind)
		if c, ok := snap.byID[o.Kind][o.ID]; ok {
			parent = parentDN(c.dn)
		}
		finalDN[o.ID] = rdnAttr(o.Kind) + "=" + EscapeRDN(o.Name) + "," + parent
	}
	dnOf := func(id string) string {
		if dn, ok := finalDN[id]; ok {
			return dn
		}
		for _, k := range plan.Kinds {
			if c, ok := snap.byID[k][id]; ok {
				return c.dn
			}
		}
		return id // a DN already
	}
	for i := range changes {
		c := &changes[i]
		if c.After == nil || (c.Action == plan.Adopt && plan.Equal(c.Before, c.After)) {
			continue
		}
		props := map[string]any{}
		var body map[string]any
		if c.Action == plan.Create {
			for prop, v := range c.After.Attrs {
				if prop != passwordProp {
					props[prop] = v
				}
			}
			props[p.keyProp(c.Kind)] = c.Key
			body = map[string]any{"position": p.ou(c.Kind), "properties": props}
		} else {
			// PUT sends the object as read, with only the managed
			// properties changed, under If-Match with the ETag read now.
			cur := snap.byID[c.Kind][c.ID]
			raw, etag, err := p.client.Get(ctx, typeOf(c.Kind), cur.dn)
			if err != nil {
				return nil, fmt.Errorf("udm: read %s %s: %w", c.Kind, cur.dn, err)
			}
			body = maps.Clone(raw)
			delete(body, "_links")
			delete(body, "_embedded")
			props = maps.Clone(raw.Properties())
			if props == nil {
				props = map[string]any{}
			}
			// Derived views and the password are never sent back: UDM
			// keeps membership on the group side.
			for _, v := range []string{"groups", "memberOf", "password"} {
				delete(props, v)
			}
			for prop := range p.tmpl[c.Kind] {
				if prop == passwordProp {
					continue
				}
				if v, ok := c.After.Attrs[prop]; ok {
					props[prop] = v
				} else {
					props[prop] = nil
				}
			}
			body["properties"] = props
			var expect map[string][]string
			if c.Kind == plan.KindGroup {
				expect = map[string][]string{}
				for _, l := range []string{listUsers, listNested} {
					for _, id := range c.Before.Lists[l] {
						expect[l] = append(expect[l], dnOf(id))
					}
				}
			}
			c.Before.Version = etag + versionSep + fingerprint(raw.Properties(), expect)
		}
		if c.Kind == plan.KindGroup {
			for _, l := range []string{listUsers, listNested} {
				dns := []string{}
				for _, id := range c.After.Lists[l] {
					dns = append(dns, dnOf(id))
				}
				props[l] = dns
			}
		}
		if c.Payload, err = json.Marshal(body); err != nil {
			return nil, fmt.Errorf("udm: encode %s %s: %w", c.Kind, c.Name(), err)
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
					if n, ok := res.Refs.Names[id]; ok {
						used[id] = n
					}
				}
			}
		}
	}
	res.Refs.Names = used
	res.Changes = changes
	return res, nil
}

// Apply performs one change. Creates are POSTs (a new user gets a random
// password generated here, never stored); updates, renames and adoptions
// with changes are PUTs under If-Match; deletes are DELETEs of the DN
// found by the key property. A create whose object already exists with
// the same key, and a delete of an object already gone, succeed.
func (p *Provider) Apply(ctx context.Context, c *plan.Change) error {
	typ := typeOf(c.Kind)
	if c.Action == plan.Delete {
		dn, err := p.lookup(ctx, c.Kind, c.Key)
		if err != nil || dn == "" {
			return err
		}
		if err := p.client.Delete(ctx, typ, dn); err != nil && !IsNotFound(err) {
			return err
		}
		return nil
	}
	if len(c.Payload) == 0 {
		return nil
	}
	var body map[string]any
	if err := json.Unmarshal(c.Payload, &body); err != nil {
		return fmt.Errorf("udm: plan payload of %s %s: %w", c.Kind, c.Name(), err)
	}
	if c.Action == plan.Create {
		if c.Kind == plan.KindUser {
			props, _ := body["properties"].(map[string]any)
			if _, has := props[passwordProp]; has {
				return fmt.Errorf("udm: the planned payload of user %s holds a password, which plans never do; run plan again", c.Name())
			}
			var pw string
			var err error
			if hash, mapped := c.After.Attrs[passwordProp]; mapped {
				pw, err = p.sourcePassword(ctx, c.Key, hash)
			} else {
				pw, err = randomPassword()
			}
			if err != nil {
				return err
			}
			props[passwordProp] = pw
		}
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		_, err = p.client.Create(ctx, typ, b)
		if err != nil && status(err) == http.StatusUnprocessableEntity {
			// A repeat after a crash: the object is there with our key.
			if dn, lerr := p.search(ctx, c.Kind, c.Key); lerr == nil && dn != "" {
				return nil
			}
		}
		return err
	}
	dn, _ := body["dn"].(string)
	if dn == "" {
		return fmt.Errorf("udm: plan payload of %s %s has no dn", c.Kind, c.Name())
	}
	etag, fp := "", ""
	if c.Before != nil {
		etag, fp, _ = strings.Cut(c.Before.Version, versionSep)
	}
	err := p.client.Put(ctx, typ, dn, c.Payload, etag)
	if (IsPrecondition(err) || IsNotFound(err) && c.Action == plan.Rename) && fp != "" {
		// UDM rewrites a group when a member is renamed (this run's
		// renames run first), which moves its ETag. When the object is
		// otherwise exactly as planned, with the members' DNs as the
		// renames made them, that is not drift: send the PUT again
		// under the new ETag.
		// A PUT retried after its answer was lost finds the object
		// already as the payload makes it: done.
		if dn, gerr := p.currentDN(ctx, c, dn); gerr == nil {
			raw, fresh, gerr := p.client.Get(ctx, typ, dn)
			if gerr == nil {
				want, _ := body["properties"].(map[string]any)
				got := fingerprint(raw.Properties(), listsOf(c.Kind, raw.Properties()))
				switch got {
				case fingerprint(want, listsOf(c.Kind, want)):
					err = nil
				case fp:
					err = p.client.Put(ctx, typ, dn, c.Payload, fresh)
				}
			}
		}
	}
	if IsPrecondition(err) {
		return fmt.Errorf("udm: %s %s (%s): %w", c.Kind, c.Name(), dn, ErrDrift)
	}
	return err
}

// currentDN returns where the object of c is now: dn, or its new DN when
// a rename already took effect (a lost answer), found by the key.
func (p *Provider) currentDN(ctx context.Context, c *plan.Change, dn string) (string, error) {
	if c.Action != plan.Rename {
		return dn, nil
	}
	found, err := p.search(ctx, c.Kind, c.Key)
	if err != nil || found == "" {
		return dn, err
	}
	return found, nil
}

// versionSep separates the ETag from the fingerprint in Object.Version.
const versionSep = " "

func listsOf(k plan.Kind, props map[string]any) map[string][]string {
	if k != plan.KindGroup {
		return nil
	}
	return map[string][]string{listUsers: strs(props[listUsers]), listNested: strs(props[listNested])}
}

// fingerprint hashes what an object must still be for a planned PUT to
// apply: every property but the derived views and the password, and the
// member lists (DNs, compared case-insensitively as sets).
func fingerprint(props map[string]any, lists map[string][]string) string {
	rest := map[string]any{}
	for k, v := range props {
		switch k {
		case "groups", "memberOf", "password", listUsers, listNested:
			continue
		}
		rest[k] = v
	}
	norm := map[string][]string{}
	for l, dns := range lists {
		out := make([]string, 0, len(dns))
		for _, dn := range dns {
			out = append(out, strings.ToLower(dn))
		}
		if len(out) == 0 {
			continue // absent and empty are the same
		}
		slices.Sort(out)
		norm[l] = slices.Compact(out)
	}
	return plan.VersionOf(map[string]any{"properties": rest, "lists": norm})
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

// lookup returns the DN of the object whose key property is key, from an
// index read once per provider (deletes come last in apply), or "".
func (p *Provider) lookup(ctx context.Context, k plan.Kind, key string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.index == nil {
		p.index = map[plan.Kind]map[string]string{}
	}
	if _, ok := p.index[k]; !ok {
		objs, err := p.client.Search(ctx, typeOf(k), p.ou(k))
		if err != nil {
			return "", err
		}
		m := map[string]string{}
		for _, o := range objs {
			if v := str(o.Properties()[p.keyProp(k)]); v != "" {
				m[v] = o.DN()
			}
		}
		p.index[k] = m
	}
	return p.index[k][key], nil
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
