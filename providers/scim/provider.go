package scim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/planner"
	"github.com/ldapply/ldapply/providers"
	"github.com/ldapply/ldapply/providers/limits"
	"github.com/ldapply/ldapply/providers/mapping"
	"github.com/ldapply/ldapply/providers/prefetch"
)

// listMembers is the plan list of a group's members (users; nested
// groups are flattened by the planner).
const listMembers = "members"

// unkeyed prefixes the plan id of a resource without an externalId: one
// ldapply never made and does not manage.
const unkeyed = "scim-id:"

// Provider plans and applies changes to a SCIM service's Users (kind
// user) and Groups (kind group). The plan id of a resource is its
// externalId, which holds the source primary key.
type Provider struct {
	cfg    Config
	client *Client
	log    *slog.Logger
	tmpl   map[plan.Kind]map[string]*mapping.Template

	prefetched *prefetch.Read[*snapshot]

	// at maps plan ids to service ids, read once per apply; caps are the
	// service's capabilities, read once at the first write that needs
	// them; mu guards both.
	mu   sync.Mutex
	at   map[plan.Kind]map[string]string
	caps *Capabilities
	// named maps the lower-case userName of each user without an
	// externalId to its id, read with at: how apply finds a user adopted
	// by userName.
	named map[string]string

	// bulk is the plan's creates, set by Prepare, and what /Bulk made
	// of them.
	bulk *bulkState
}

// capabilities returns what /ServiceProviderConfig says, read once.
func (p *Provider) capabilities(ctx context.Context) (*Capabilities, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.caps == nil {
		c, err := p.client.Discover(ctx)
		if err != nil {
			return nil, fmt.Errorf("scim: read the service's capabilities: %w", err)
		}
		p.caps = c
	}
	return p.caps, nil
}

// New returns a provider for a resolved configuration.
func New(cfg Config, env providers.Env) (*Provider, error) {
	client, err := NewClient(ClientConfig{Config: cfg, UserAgent: "ldapply/" + env.Version, Log: env.Log})
	if err != nil {
		return nil, err
	}
	if cfg.InsecureSkipVerify && env.Log != nil {
		env.Log.Warn("TLS certificate verification of the SCIM service is off (target.scim.insecure_skip_verify): anyone between ldapply and the service can read its token; use target.scim.ca_cert instead.", "url", cfg.URL)
	}
	p := &Provider{cfg: cfg, client: client, log: env.Log, tmpl: map[plan.Kind]map[string]*mapping.Template{}}
	for kind, m := range map[plan.Kind]map[string]string{plan.KindUser: cfg.UserAttributes, plan.KindGroup: cfg.GroupAttributes} {
		p.tmpl[kind] = map[string]*mapping.Template{}
		for path, text := range m {
			t, err := mapping.Parse(path, text)
			if err != nil {
				return nil, fmt.Errorf("target.scim %s attribute %s: %w", kind, path, err)
			}
			p.tmpl[kind][path] = t
		}
	}
	return p, nil
}

// Describe names the target for plan headers: "scim <url>".
func (p *Provider) Describe() string { return "scim " + strings.TrimRight(p.cfg.URL, "/") }

// ContentionSignals returns how many answers so far were 429 or 503.
func (p *Provider) ContentionSignals() int64 { return p.client.ContentionSignals() }

// SourceAttributes names the user attributes the mapping reads.
func (p *Provider) SourceAttributes() []string {
	return mapping.Attributes(slices.Collect(maps.Values(p.tmpl[plan.KindUser]))...)
}

func endpointOf(k plan.Kind) string {
	if k == plan.KindGroup {
		return Groups
	}
	return Users
}

func nameAttr(k plan.Kind) string {
	if k == plan.KindGroup {
		return "displayName"
	}
	return "userName"
}

// snapshot is the service as one read saw it.
type snapshot struct {
	objs map[plan.Kind][]*plan.Object
	// planID maps a service id to its plan id, across kinds.
	planID map[string]string
	// serviceID maps, by kind, a plan id to the service id.
	serviceID map[plan.Kind]map[string]string
	// named maps the lower-case userName of each user without an
	// externalId to its id.
	named map[string]string
}

func planIDOf(r Resource) string {
	if ext := r.ExternalID(); ext != "" {
		return ext
	}
	return unkeyed + r.ID()
}

// read lists users and groups, and turns them into plan objects.
func (p *Provider) read(ctx context.Context) (*snapshot, error) {
	s := &snapshot{objs: map[plan.Kind][]*plan.Object{}, planID: map[string]string{}, serviceID: map[plan.Kind]map[string]string{}, named: map[string]string{}}
	raw, err := p.readLists(ctx)
	if err != nil {
		return nil, err
	}
	for _, k := range plan.Kinds {
		l := raw[k]
		s.serviceID[k] = map[string]string{}
		for _, r := range l {
			id := planIDOf(r)
			if prev, dup := s.serviceID[k][id]; dup {
				return nil, fmt.Errorf("scim: %s %s and %s share the externalId %q; ldapply cannot tell which one is the source's: clear or change one of them in the service", endpointOf(k), prev, r.ID(), id)
			}
			s.serviceID[k][id] = r.ID()
			s.planID[r.ID()] = id
			if k == plan.KindUser && r.ExternalID() == "" {
				s.named[strings.ToLower(r.str("userName"))] = r.ID()
			}
		}
	}
	for _, k := range plan.Kinds {
		for _, r := range raw[k] {
			s.objs[k] = append(s.objs[k], p.object(k, r, s.planID))
		}
	}
	return s, nil
}

// readLists lists users and groups, the two at once, and reads the
// members of groups the list shows without.
func (p *Provider) readLists(ctx context.Context) (map[plan.Kind][]Resource, error) {
	raw := map[plan.Kind][]Resource{}
	errs := make([]error, len(plan.Kinds))
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	for i, k := range plan.Kinds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := p.client.List(ctx, endpointOf(k), ListOptions{})
			if err != nil {
				errs[i] = fmt.Errorf("scim: read %s: %w", endpointOf(k), err)
				return
			}
			if k == plan.KindGroup {
				if errs[i] = p.readMembers(ctx, l); errs[i] != nil {
					return
				}
			}
			mu.Lock()
			raw[k] = l
			mu.Unlock()
		}()
	}
	wg.Wait()
	return raw, errors.Join(errs...)
}

// readMembers reads each group whose list entry has no members on its
// own: a service may leave members out of lists (docs/scim-contract.md
// R19). An empty group may look the same, so it costs a read too.
func (p *Provider) readMembers(ctx context.Context, groups []Resource) error {
	for i, g := range groups {
		if g.get("members") != nil {
			continue
		}
		full, _, err := p.client.Get(ctx, Groups, g.ID())
		if IsNotFound(err) {
			continue // deleted since the list was read
		}
		if err != nil {
			return fmt.Errorf("scim: read the members of group %s: %w", g.ID(), err)
		}
		groups[i] = full
	}
	return nil
}

// object is the plan object of a resource: its managed attributes and,
// for a group, its members as plan ids. Plan and apply both read
// through it, so their versions compare like with like.
func (p *Provider) object(k plan.Kind, r Resource, planID map[string]string) *plan.Object {
	o := &plan.Object{Kind: k, ID: planIDOf(r), Name: r.str(nameAttr(k)), Attrs: map[string]string{}}
	for path := range p.tmpl[k] {
		if path == nameAttr(k) {
			continue
		}
		if v := r.Read(path); v != "" {
			o.Attrs[path] = v
		}
	}
	if k == plan.KindUser {
		if a, ok := r.get("active").(bool); ok && !a {
			o.Attrs["active"] = "false"
		} else {
			o.Attrs["active"] = "true"
		}
	}
	if k == plan.KindGroup {
		var ids []string
		for _, m := range r.Members() {
			if id, ok := planID[m]; ok {
				ids = append(ids, id)
			} else {
				ids = append(ids, unkeyed+m)
			}
		}
		slices.Sort(ids)
		o.Lists = map[string][]string{listMembers: slices.Compact(ids)}
	}
	return o
}

// version hashes what ldapply manages of an object.
func version(o *plan.Object) string {
	lists := map[string][]string{}
	for l, ids := range o.Lists {
		if len(ids) > 0 {
			lists[l] = ids
		}
	}
	return plan.VersionOf(struct {
		Name  string
		Attrs map[string]string
		Lists map[string][]string
	}{o.Name, o.Attrs, lists})
}

// Prefetch starts reading the service in the background.
func (p *Provider) Prefetch(ctx context.Context) {
	p.prefetched = prefetch.Start(ctx, p.read)
}

// Plan reads the service and computes the changes that make it match
// dir. With upsert_only, deletes are left out of the plan.
func (p *Provider) Plan(ctx context.Context, dir *plan.Directory, bindings plan.Bindings) (*plan.Plan, error) {
	t := &planning{p: p, bindings: bindings, wanted: map[string]string{}}
	res, err := planner.Plan(ctx, t, p.rules(), dir, bindings)
	if err != nil {
		return nil, err
	}
	if w := adoptedWarning(res.Changes, t.adopted); w != "" {
		res.Warnings = append(res.Warnings, w)
	}
	if !p.cfg.UpsertOnly {
		return res, nil
	}
	kept := res.Changes[:0]
	for _, c := range res.Changes {
		if c.Action == plan.Delete {
			res.Warnings = append(res.Warnings, fmt.Sprintf("%s %s is gone from the directory and stays in the service (target.scim.upsert_only)", c.Kind, c.Name()))
			continue
		}
		kept = append(kept, c)
	}
	res.Changes = kept
	return res, nil
}

func (p *Provider) rules() *planner.Rules {
	return &planner.Rules{
		Target:    "SCIM",
		NameField: map[plan.Kind]string{plan.KindUser: "userName", plan.KindGroup: "displayName"},
		Limits:    limits.Table{},
		Members:   planner.Membership{Users: listMembers},
		Unmanaged: func(o *plan.Object) (string, string) {
			return fmt.Sprintf("the SCIM %s %q (%s)", endpointOf(o.Kind), o.Name, o.ID),
				"its externalId is not the source's primary key: rename or delete it in the service, or set its externalId"
		},
	}
}

// planning is one plan's view of the service, for the planner.
type planning struct {
	p        *Provider
	buf      bytes.Buffer
	bindings plan.Bindings
	// wanted maps the lower-case userName of each desired user to its
	// source key, and adopted holds the keys of the users adopted by
	// userName (adopt_by_username).
	wanted  map[string]string
	adopted map[string]bool
}

// Desire maps a source entry to the resource its attributes make; a user
// is always active.
func (t *planning) Desire(k plan.Kind, e *plan.Entry) (*plan.Object, string, error) {
	attrs := map[string]string{}
	for path, tm := range t.p.tmpl[k] {
		v, err := tm.Execute(e, &t.buf)
		if err != nil {
			return nil, "", fmt.Errorf("scim: %s attribute %s for %s: %w", k, path, e.DN, err)
		}
		if v != "" {
			attrs[path] = v
		}
	}
	name := attrs[nameAttr(k)]
	if name == "" {
		return nil, fmt.Sprintf("%s %s has no %s (target.scim %s_attributes.%s is empty) and is skipped", k, e.DN, nameAttr(k), k, nameAttr(k)), nil
	}
	delete(attrs, nameAttr(k))
	if k == plan.KindUser {
		attrs["active"] = "true"
		t.wanted[strings.ToLower(name)] = e.Key
	}
	return &plan.Object{Name: name, Attrs: attrs}, "", nil
}

// NewID is the source primary key: ldapply writes it to externalId.
func (t *planning) NewID(_ plan.Kind, key, _ string) string { return key }

// Current returns the service's users and groups.
func (t *planning) Current(ctx context.Context) (*planner.Current, error) {
	snap, err := prefetch.Take(ctx, &t.p.prefetched, t.p.read)
	if err != nil {
		return nil, err
	}
	cur := &planner.Current{Counts: map[string]int{
		"target users": len(snap.objs[plan.KindUser]), "target groups": len(snap.objs[plan.KindGroup]),
	}}
	for _, k := range plan.Kinds {
		cur.Objects = append(cur.Objects, snap.objs[k]...)
	}
	cur.Objects, t.adopted = t.byUsername(cur.Objects)
	return cur, nil
}

// SetVersions versions what ldapply manages of each object, as apply
// computes it again before it writes.
func (t *planning) SetVersions(objs []*plan.Object) {
	for _, o := range objs {
		o.Version = version(o)
	}
}
