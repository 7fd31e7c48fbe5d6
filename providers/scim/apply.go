package scim

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/ldapply/ldapply/plan"
)

// Apply performs one change. Users and groups are created by POST with
// the source key in externalId; changes are PATCHes of the managed
// attributes, and of a group's members by add and remove in chunks of
// patch_operations; a user gone from the directory is deactivated
// (on_delete: deactivate) or deleted, a group deleted. A create whose
// resource already exists with the key, and a delete of a resource
// already gone, succeed.
func (p *Provider) Apply(ctx context.Context, c *plan.Change) error {
	switch {
	case c.Action == plan.Delete:
		return p.remove(ctx, c)
	case c.After == nil || c.Action != plan.Create && c.Before == nil:
		return fmt.Errorf("scim: %s %s %s lacks its before or after object; run plan again", c.Action, c.Kind, c.Name())
	case c.Action == plan.Adopt:
		if err := p.claim(ctx, c); err != nil || plan.Equal(c.Before, c.After) {
			return err
		}
	case c.Action == plan.Create:
		return p.create(ctx, c)
	}
	return p.modify(ctx, c)
}

// index returns the service id of the plan id of kind k ("" when the
// service has none), reading the service once per provider.
func (p *Provider) index(ctx context.Context, k plan.Kind, planID string) (string, error) {
	if id, ok := strings.CutPrefix(planID, unkeyed); ok {
		return id, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.at == nil {
		s, err := p.read(ctx)
		if err != nil {
			return "", err
		}
		p.at, p.named = s.serviceID, s.named
	}
	return p.at[k][planID], nil
}

// remember records the service id of a plan id (after a create); with
// id "" it makes sure the index is read.
func (p *Provider) remember(ctx context.Context, k plan.Kind, planID, id string) error {
	if _, err := p.index(ctx, k, planID); err != nil {
		return err
	}
	if id != "" {
		p.mu.Lock()
		p.at[k][planID] = id
		p.mu.Unlock()
	}
	return nil
}

// planIDs maps service ids back to plan ids, from the index.
func (p *Provider) planIDs() map[string]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]string{}
	for _, m := range p.at {
		for pid, sid := range m {
			out[sid] = pid
		}
	}
	return out
}

func (p *Provider) remove(ctx context.Context, c *plan.Change) error {
	id, err := p.index(ctx, c.Kind, c.ID)
	if err != nil || id == "" {
		return err
	}
	if c.Kind == plan.KindUser && p.cfg.OnDelete == OnDeleteDeactivate {
		caps, err := p.capabilities(ctx)
		if err != nil {
			return err
		}
		if caps.Patch {
			_, err = p.client.Patch(ctx, Users, id, "", []Op{{Op: "replace", Path: "active", Value: false}})
		} else {
			err = p.replaceWith(ctx, c.Kind, id, func(r Resource) { r["active"] = false })
		}
		if IsNotFound(err) {
			return nil
		}
		return err
	}
	return p.client.Delete(ctx, endpointOf(c.Kind), id, "")
}

// createBody is the POST body of the resource of c (a group without
// members), with the source key in externalId.
func (p *Provider) createBody(c *plan.Change) Resource {
	schema := UserSchema
	if c.Kind == plan.KindGroup {
		schema = GroupSchema
	}
	body := Resource{"externalId": c.Key, nameAttr(c.Kind): c.After.Name}
	schemas := []string{schema}
	for path, v := range c.After.Attrs {
		switch {
		case path == "active":
			body["active"] = v == "true"
		default:
			body.Set(path, v)
			if strings.HasPrefix(path, EnterpriseSchema) && !slices.Contains(schemas, EnterpriseSchema) {
				schemas = append(schemas, EnterpriseSchema)
			}
		}
	}
	body["schemas"] = schemas
	return body
}

// create makes the resource of c (through /Bulk with the plan's other
// creates where the service offers it, else by a POST of its own), then
// adds a group's members.
func (p *Provider) create(ctx context.Context, c *plan.Change) error {
	o, inBulk, err := p.bulkOutcomeOf(ctx, c)
	if err != nil {
		return err
	}
	var r Resource
	switch {
	case inBulk && o.err != nil:
		err = o.err
	case inBulk && o.id != "":
		r = Resource{"id": o.id}
	default:
		r, err = p.createOne(ctx, c, o.lost)
	}
	if IsUniqueness(err) {
		// A repeat after a crash: the resource is there with our key.
		found, lerr := p.client.List(ctx, endpointOf(c.Kind), ListOptions{Filter: "externalId eq " + quote(c.Key)})
		if lerr == nil && len(found) == 1 {
			r, err = found[0], nil
		}
	}
	if err != nil {
		return fmt.Errorf("scim: create %s %s: %w", c.Kind, c.Name(), err)
	}
	if err := p.remember(ctx, c.Kind, c.ID, r.ID()); err != nil {
		return err
	}
	if c.Kind != plan.KindGroup || len(c.After.Lists[listMembers]) == 0 {
		return nil
	}
	add, err := p.serviceIDs(ctx, c.After.Lists[listMembers])
	if err != nil {
		return fmt.Errorf("scim: group %s: %w", c.Name(), err)
	}
	add = slices.DeleteFunc(add, func(id string) bool { return slices.Contains(r.Members(), id) })
	caps, err := p.capabilities(ctx)
	if err != nil {
		return err
	}
	if !caps.Patch {
		return p.replaceWith(ctx, c.Kind, r.ID(), func(r Resource) { r["members"] = memberIDs(append(r.Members(), add...)) })
	}
	_, err = p.client.PatchMembers(ctx, r.ID(), "", add, nil, p.cfg.PatchOperations)
	return err
}

// serviceIDs maps member plan ids to service ids.
func (p *Provider) serviceIDs(ctx context.Context, planIDs []string) ([]string, error) {
	out := make([]string, 0, len(planIDs))
	for _, pid := range planIDs {
		id, err := p.index(ctx, plan.KindUser, pid)
		if err == nil && id == "" {
			id, err = p.index(ctx, plan.KindGroup, pid)
		}
		if err != nil {
			return nil, err
		}
		if id == "" {
			return nil, fmt.Errorf("member %s is not in the service (its create failed?); run plan again", pid)
		}
		out = append(out, id)
	}
	return out, nil
}

// maxResumes bounds how often modify re-reads a resource that its own
// writes moved on from under it and continues.
const maxResumes = 3

// modify PATCHes the managed attributes that differ and the members,
// once the resource is found still as the plan saw it. A write refused
// with 412 (a repeat of a PATCH whose first attempt landed, its answer
// lost, or a chunk of a group's members that landed before a failure)
// reads the resource again: already as the change makes it is done;
// moved only by the change's own writes continues from there; anything
// else is drift.
func (p *Provider) modify(ctx context.Context, c *plan.Change) error {
	id, err := p.index(ctx, c.Kind, c.ID)
	if err != nil {
		return err
	}
	if id == "" {
		return fmt.Errorf("scim: %s %s (externalId %s) is no longer in the service: %w", c.Kind, c.Name(), c.ID, ErrDrift)
	}
	for attempt := 0; ; attempt++ {
		err = p.patch(ctx, c, id, attempt > 0)
		if !IsPrecondition(err) || attempt == maxResumes {
			return err
		}
	}
}

// patch reads the resource and sends what c changes of it; resume
// accepts a resource that c's own writes have partly changed.
func (p *Provider) patch(ctx context.Context, c *plan.Change, id string, resume bool) error {
	r, tag, err := p.client.Get(ctx, endpointOf(c.Kind), id)
	if IsNotFound(err) {
		return fmt.Errorf("scim: %s %s (externalId %s) is no longer in the service: %w", c.Kind, c.Name(), c.ID, ErrDrift)
	}
	if err != nil {
		return err
	}
	now := p.object(c.Kind, r, p.planIDs())
	after := *c.After
	if c.Kind == plan.KindGroup {
		after.Lists = map[string][]string{listMembers: plan.MergeList(now.Lists[listMembers], c.Before.Lists[listMembers], c.After.Lists[listMembers])}
	}
	switch v := version(now); {
	case v == version(&after):
		return nil // done already (a repeat)
	case resume && !ownProgress(now, c):
		return fmt.Errorf("scim: %s %s changed in the service while ldapply wrote it: %w", c.Kind, c.Name(), ErrDrift)
	case !resume && v != c.Before.Version:
		return fmt.Errorf("scim: %s %s: %w", c.Kind, c.Name(), ErrDrift)
	}
	var ops []Op
	if now.Name != after.Name {
		ops = append(ops, Op{Op: "replace", Path: nameAttr(c.Kind), Value: after.Name})
	}
	for _, path := range attrPaths(now, &after) {
		switch v := after.Attrs[path]; {
		case v == now.Attrs[path]:
		case path == "active":
			ops = append(ops, Op{Op: "replace", Path: "active", Value: v != "false"})
		default:
			ops = append(ops, patchOp(path, v))
		}
	}
	caps, err := p.capabilities(ctx)
	if err != nil {
		return err
	}
	if !caps.Patch {
		return p.put(ctx, c, r, tag, &after)
	}
	if len(ops) > 0 {
		if tag, err = p.client.Patch(ctx, endpointOf(c.Kind), id, tag, ops); err != nil {
			return fmt.Errorf("scim: %s %s: %w", c.Kind, c.Name(), err)
		}
	}
	if c.Kind != plan.KindGroup {
		return nil
	}
	return p.members(ctx, c, id, tag, now.Lists[listMembers], after.Lists[listMembers])
}

// put replaces the resource r (read with ETag tag) with the managed
// attributes and members of after, for a service without PATCH; what
// ldapply does not manage is sent back as read.
func (p *Provider) put(ctx context.Context, c *plan.Change, r Resource, tag string, after *plan.Object) error {
	body := maps.Clone(r)
	delete(body, "meta")
	body[nameAttr(c.Kind)] = after.Name
	for path := range p.tmpl[c.Kind] {
		if path == nameAttr(c.Kind) {
			continue
		}
		if v, ok := after.Attrs[path]; ok {
			body.Set(path, v)
		} else {
			body.Unset(path)
		}
	}
	if c.Kind == plan.KindUser {
		body["active"] = after.Attrs["active"] != "false"
	} else {
		ids, err := p.serviceIDs(ctx, after.Lists[listMembers])
		if err != nil {
			return fmt.Errorf("scim: group %s: %w", c.Name(), err)
		}
		body["members"] = memberIDs(ids)
	}
	if _, err := p.client.Replace(ctx, endpointOf(c.Kind), r.ID(), tag, body); err != nil {
		return fmt.Errorf("scim: %s %s: %w", c.Kind, c.Name(), err)
	}
	return nil
}

// replaceWith reads a resource, changes it with edit and PUTs it back
// under If-Match.
func (p *Provider) replaceWith(ctx context.Context, k plan.Kind, id string, edit func(Resource)) error {
	r, tag, err := p.client.Get(ctx, endpointOf(k), id)
	if err != nil {
		return err
	}
	body := maps.Clone(r)
	delete(body, "meta")
	edit(body)
	_, err = p.client.Replace(ctx, endpointOf(k), id, tag, body)
	return err
}

// members sends the difference of a group's member lists.
func (p *Provider) members(ctx context.Context, c *plan.Change, id, tag string, now, want []string) error {
	var add, remove []string
	for _, m := range want {
		if !slices.Contains(now, m) {
			add = append(add, m)
		}
	}
	for _, m := range now {
		if !slices.Contains(want, m) {
			remove = append(remove, m)
		}
	}
	addIDs, err := p.serviceIDs(ctx, add)
	if err != nil {
		return fmt.Errorf("scim: group %s: %w", c.Name(), err)
	}
	removeIDs, err := p.serviceIDs(ctx, remove)
	if err != nil {
		return fmt.Errorf("scim: group %s: %w", c.Name(), err)
	}
	if _, err := p.client.PatchMembers(ctx, id, tag, addIDs, removeIDs, p.cfg.PatchOperations); err != nil {
		return fmt.Errorf("scim: group %s: %w", c.Name(), err)
	}
	return nil
}

// attrPaths lists the attribute paths either object has, sorted.
func attrPaths(a, b *plan.Object) []string {
	var out []string
	for _, o := range []*plan.Object{a, b} {
		for k := range o.Attrs {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// ownProgress reports whether now differs from c.Before only in ways c
// itself asks for: each attribute and the name as before or as after,
// each member added one that c adds, each member gone one that c
// removes.
func ownProgress(now *plan.Object, c *plan.Change) bool {
	if now.Name != c.Before.Name && now.Name != c.After.Name {
		return false
	}
	for _, path := range attrPaths(now, c.After) {
		if v := now.Attrs[path]; v != c.Before.Attrs[path] && v != c.After.Attrs[path] {
			return false
		}
	}
	before, after, have := c.Before.Lists[listMembers], c.After.Lists[listMembers], now.Lists[listMembers]
	for _, m := range have {
		if !slices.Contains(before, m) && !slices.Contains(after, m) {
			return false
		}
	}
	for _, m := range before {
		if !slices.Contains(have, m) && slices.Contains(after, m) {
			return false
		}
	}
	return true
}
