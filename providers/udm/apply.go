package udm

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/ldapply/ldapply/apply"
	"github.com/ldapply/ldapply/plan"
)

var _ apply.Preparer = (*Provider)(nil)

// Prepare notes the name each object created or renamed by p will have:
// a group written in the same apply names it by the DN that name makes
// (see memberDN), whether or not its write has landed yet. It also
// counts the renames (see modify) and drops the index of an earlier
// apply: this one reads UCS afresh.
func (p *Provider) Prepare(pl *plan.Plan) {
	names := map[plan.Kind]map[string]string{}
	renames := 0
	for i := range pl.Changes {
		c := &pl.Changes[i]
		if (c.Action == plan.Create || c.Action == plan.Rename) && c.After != nil {
			if names[c.Kind] == nil {
				names[c.Kind] = map[string]string{}
			}
			names[c.Kind][c.ID] = c.After.Name
		}
		if c.Action == plan.Rename {
			renames++
		}
	}
	p.mu.Lock()
	p.names, p.renames, p.at, p.born = names, renames, nil, nil
	p.mu.Unlock()
}

// Apply performs one change, building its request from the change and
// from UCS as it is now. Creates are POSTs of the managed properties (a
// new user gets a random password generated here, never stored);
// updates, renames and adoptions with changes are PUTs of the object as
// read now with the managed properties of After, under If-Match, once
// the object is found still as the plan saw it; deletes are DELETEs of
// the DN found by the key property. A create whose object already
// exists with the same key, and a delete of an object already gone,
// succeed.
func (p *Provider) Apply(ctx context.Context, c *plan.Change) error {
	switch {
	case c.Action == plan.Delete:
		return p.remove(ctx, c)
	case c.Action == plan.Adopt && plan.Equal(c.Before, c.After):
		return nil // an adoption with nothing to send
	case c.After == nil || c.Action != plan.Create && c.Before == nil:
		return fmt.Errorf("udm: %s %s %s lacks its before or after object; run plan again", c.Action, c.Kind, c.Name())
	case c.Action == plan.Create:
		return p.create(ctx, c)
	}
	return p.modify(ctx, c)
}

// remove deletes the object of c, if UCS still has it.
func (p *Provider) remove(ctx context.Context, c *plan.Change) error {
	var dn string
	if err := p.withIndex(ctx, false, func(x *index) error { dn = x.dn[c.Kind][c.ID]; return nil }); err != nil || dn == "" {
		return err
	}
	if err := p.client.Delete(ctx, typeOf(c.Kind), dn); err != nil && !IsNotFound(err) {
		return err
	}
	p.moved(c.Kind, c.ID, "")
	return nil
}

// create POSTs the object of c: its managed properties as After has
// them, the key property, and for a user the password.
func (p *Provider) create(ctx context.Context, c *plan.Change) error {
	props := map[string]any{}
	for prop, v := range c.After.Attrs {
		if prop != passwordProp {
			props[prop] = v
		}
	}
	props[p.keyProp(c.Kind)] = c.Key
	if err := p.memberDNs(ctx, c.Kind, c.Name(), c.After, props); err != nil {
		return err
	}
	if c.Kind == plan.KindUser {
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
	b, err := json.Marshal(map[string]any{"position": p.ou(c.Kind), "properties": props})
	if err != nil {
		return fmt.Errorf("udm: encode %s %s: %w", c.Kind, c.Name(), err)
	}
	dn, err := p.client.Create(ctx, typeOf(c.Kind), b)
	if err != nil && status(err) == http.StatusUnprocessableEntity {
		// A repeat after a crash: the object is there with our key.
		if found, lerr := p.search(ctx, c.Kind, c.Key); lerr == nil && found != "" {
			dn, err = found, nil
		}
	}
	if err != nil {
		return err
	}
	if dn == "" {
		dn = rdnAttr(c.Kind) + "=" + EscapeRDN(c.After.Name) + "," + p.ou(c.Kind)
	}
	p.created(c.Kind, c.ID, dn)
	return nil
}

// modify PUTs the object of c as GET returns it now, with the managed
// properties of After, under If-Match with the ETag of that GET. The
// object must still be as c.Before shows it (see check). A 412 (UDM
// rewrote a group for a member renamed meanwhile, or a PUT whose answer
// was lost landed) or, for a rename, a 404 (the rename landed) reads the
// object again: already as After is done, still as Before is sent again
// under the new ETag. That happens once, and once more for each rename
// in this apply, as each may rewrite the group between a read and its
// PUT; check, not the 412, tells a change by someone else.
func (p *Provider) modify(ctx context.Context, c *plan.Change) error {
	typ := typeOf(c.Kind)
	var dn string
	if err := p.withIndex(ctx, false, func(x *index) error { dn = x.dn[c.Kind][c.ID]; return nil }); err != nil {
		return err
	}
	if dn == "" {
		return fmt.Errorf("udm: %s %s (key %s) is no longer in UCS: %w", c.Kind, c.Name(), c.ID, ErrDrift)
	}
	p.mu.Lock()
	retries := 1 + p.renames
	p.mu.Unlock()
	var err error
	for try := 0; ; try++ {
		var raw RawObject
		var etag string
		var after *plan.Object
		if raw, etag, err = p.client.Get(ctx, typ, dn); err != nil {
			return fmt.Errorf("udm: read %s %s: %w", c.Kind, dn, err)
		}
		if after, err = p.check(ctx, c, raw); err != nil || after == nil {
			break
		}
		var body []byte
		if body, err = p.body(ctx, c, raw, after); err != nil {
			return err
		}
		err = p.client.Put(ctx, typ, dn, body, etag)
		retry := IsPrecondition(err) || IsNotFound(err) && c.Action == plan.Rename
		if !retry || try == retries {
			break
		}
		if dn, err = p.currentDN(ctx, c, dn); err != nil {
			return err
		}
	}
	if IsPrecondition(err) {
		err = fmt.Errorf("udm: %s %s (%s): %w", c.Kind, c.Name(), dn, ErrDrift)
	}
	if err == nil && c.Action == plan.Rename {
		p.moved(c.Kind, c.ID, rdnAttr(c.Kind)+"="+EscapeRDN(c.After.Name)+","+parentDN(dn))
	}
	if err != nil && c.Action == plan.Rename {
		p.renameFailed(ctx, c)
	}
	return err
}

// renameFailed forgets the name a failed rename would have given c's
// object, so that a group written later in the apply names it where it
// is (see memberDN), not by a DN that names nothing: at the DN a search
// by its key finds (the rename may have landed though its answer never
// came), else at the DN it had. UDM rewrites the group when the next
// apply renames it.
func (p *Provider) renameFailed(ctx context.Context, c *plan.Change) {
	found, err := p.search(ctx, c.Kind, c.Key)
	p.mu.Lock()
	delete(p.names[c.Kind], c.ID)
	p.mu.Unlock()
	if err == nil && found != "" {
		p.moved(c.Kind, c.ID, found)
	}
}

// check compares the object of c as read now (raw) with the plan, where
// the plan's version (see version) says what ldapply saw of it. It
// returns the object as the PUT must make it (see afterOf), nil when
// raw already is so (a PUT whose answer was lost landed), or an error
// wrapping ErrDrift when raw is no longer as the plan saw it.
func (p *Provider) check(ctx context.Context, c *plan.Change, raw RawObject) (*plan.Object, error) {
	props := raw.Properties()
	for fresh := false; ; fresh = true {
		var now, planned *plan.Object
		missed := false
		err := p.withIndex(ctx, fresh, func(x *index) error {
			now = p.object(c.Kind, c.ID, props, func(dns []string) []string {
				ids, m := x.ids(dns, p.cfg.UserOU, p.cfg.GroupOU)
				missed = missed || m
				return ids
			})
			planned = p.object(c.Kind, c.ID, props, func(dns []string) []string { return x.asPlanned(dns, p.born) })
			return nil
		})
		if err != nil {
			return nil, err
		}
		after := afterOf(c, now)
		switch v := version(now); {
		case v == version(after):
			return nil, nil
		case v == c.Before.Version || version(planned) == c.Before.Version:
			return after, nil
		case fresh || !missed:
			return nil, fmt.Errorf("udm: %s %s (%s): %w", c.Kind, c.Name(), raw.DN(), ErrDrift)
		}
		// A member DN the index does not know: a rename that landed
		// after the index was read. Read it again, once.
	}
}

// afterOf returns c.After with each member list merged into now's (see
// plan.MergeList): the lists the PUT sends, whether the change holds them
// whole or as their difference.
func afterOf(c *plan.Change, now *plan.Object) *plan.Object {
	if c.Kind != plan.KindGroup {
		return c.After
	}
	after := *c.After
	after.Lists = map[string][]string{}
	for _, l := range []string{listUsers, listNested} {
		after.Lists[l] = plan.MergeList(now.Lists[l], c.Before.Lists[l], c.After.Lists[l])
	}
	return &after
}

// body is the PUT body for c: the object as read (raw) with the managed
// properties of after (see check); the derived views and the password
// are left out, and a group's member lists are the DNs of after's.
func (p *Provider) body(ctx context.Context, c *plan.Change, raw RawObject, after *plan.Object) ([]byte, error) {
	body := maps.Clone(raw)
	delete(body, "_links")
	delete(body, "_embedded")
	props := maps.Clone(raw.Properties())
	if props == nil {
		props = map[string]any{}
	}
	// UDM keeps membership on the group side.
	for _, v := range []string{"groups", "memberOf", passwordProp} {
		delete(props, v)
	}
	for prop := range p.tmpl[c.Kind] {
		if prop == passwordProp {
			continue
		}
		if v, ok := after.Attrs[prop]; ok {
			props[prop] = v
		} else {
			props[prop] = nil
		}
	}
	if err := p.memberDNs(ctx, c.Kind, c.Name(), after, props); err != nil {
		return nil, err
	}
	body["properties"] = props
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("udm: encode %s %s: %w", c.Kind, c.Name(), err)
	}
	return b, nil
}

// memberDNs sets props' member lists, for a group (k) named name, to the
// DNs of o's members (see memberDN).
func (p *Provider) memberDNs(ctx context.Context, k plan.Kind, name string, o *plan.Object, props map[string]any) error {
	if k != plan.KindGroup {
		return nil
	}
	return p.withIndex(ctx, false, func(x *index) error {
		for l, kind := range map[string]plan.Kind{listUsers: plan.KindUser, listNested: plan.KindGroup} {
			dns := []string{}
			for _, id := range o.Lists[l] {
				dn, ok := p.memberDN(x, kind, id)
				if !ok {
					return fmt.Errorf("udm: group %s lists %s %s, which UCS does not have and this apply does not create; run plan again", name, kind, id)
				}
				// A member Plan saw as a DN it could not resolve and
				// the object this apply created there are one member.
				if !slices.ContainsFunc(dns, func(d string) bool { return strings.EqualFold(d, dn) }) {
					dns = append(dns, dn)
				}
			}
			props[l] = dns
		}
		return nil
	})
}

// memberDN returns the DN a member of kind and target id has once this
// apply's creates and renames are made, which are the DNs UDM takes:
// UDM itself rewrites a group's members when one is renamed after. An
// object this apply creates or renames is named as its create or rename
// names it (under the container it is in, or user_ou or group_ou);
// another keeps the DN UCS has; an id that is a DN (a member outside
// ldapply's objects, kept as Plan read it) is that DN. The caller holds
// p.mu.
func (p *Provider) memberDN(x *index, kind plan.Kind, id string) (string, bool) {
	dn, exists := x.dn[kind][id]
	if name, ok := p.names[kind][id]; ok {
		parent := p.ou(kind)
		if exists {
			parent = parentDN(dn)
		}
		return rdnAttr(kind) + "=" + EscapeRDN(name) + "," + parent, true
	}
	if exists {
		return dn, true
	}
	return id, strings.Contains(id, "=")
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
