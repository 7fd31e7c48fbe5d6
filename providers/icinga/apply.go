package icinga

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ldapply/ldapply/apply"
	"github.com/ldapply/ldapply/plan"
)

// Apply performs one change. Creates and updates are PUTs (an upsert in
// Icinga, so a repeat after a crash is harmless); a delete of an object
// already gone succeeds. The body is built here from the reviewed change
// (see contactBody); a contact's fields ldapply does not manage come from
// the target as apply read it.
func (p *Provider) Apply(ctx context.Context, c *plan.Change) error {
	if c.Action == plan.Adopt && plan.Equal(c.Before, c.After) {
		return nil // an adoption with nothing to send
	}
	var err error
	switch {
	case c.Action == plan.Delete && c.Kind == plan.KindUser:
		err = p.client.DeleteContact(ctx, c.ID)
	case c.Action == plan.Delete && c.Kind == plan.KindGroup:
		p.keepApplySnapshot(nil)
		err = p.client.DeleteGroup(ctx, c.ID)
	case c.After == nil:
		return fmt.Errorf("icinga: %s %s %s has no desired object; run plan again", c.Action, c.Kind, c.Name())
	case c.Kind == plan.KindUser:
		err = p.putContact(ctx, c)
	case c.Kind == plan.KindGroup:
		p.keepApplySnapshot(nil)
		err = p.put(ctx, c, p.client.PutGroup, Group{ID: c.ID, Name: c.After.Name, Users: nonNil(c.After.Lists[listMembers])})
	default:
		return fmt.Errorf("icinga: unknown kind %q in plan", c.Kind)
	}
	if c.Action == plan.Delete && IsNotFound(err) {
		return nil
	}
	return err
}

// putContact sends contact c.After, with what Icinga holds of it now.
func (p *Provider) putContact(ctx context.Context, c *plan.Change) error {
	snap, err := p.applySnapshot(ctx)
	if err != nil {
		return err
	}
	return p.put(ctx, c, p.client.PutContact, contactBody(c.After, snap.contacts[c.ID]))
}

// put encodes body and sends it with send.
func (p *Provider) put(ctx context.Context, c *plan.Change, send func(context.Context, []byte) (bool, error), body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("icinga: encode %s %s: %w", c.Kind, c.Name(), err)
	}
	_, err = send(ctx, b)
	return err
}

var _ apply.Preparer = (*Provider)(nil)

// Prepare notes the contacts the plan writes. Of the drift check's read
// (or, without one, of apply's own), apply keeps those alone, copied out
// of the read's shared blocks: the rest of the read is freed while apply
// runs.
func (p *Provider) Prepare(pl *plan.Plan) {
	written := map[string]bool{}
	for i := range pl.Changes {
		if c := &pl.Changes[i]; c.Kind == plan.KindUser && c.Action != plan.Delete {
			written[c.ID] = true
		}
	}
	p.applyMu.Lock()
	defer p.applyMu.Unlock()
	p.written = written
	if p.applySnap != nil {
		p.applySnap = p.applySnap.only(written)
	}
}

// only returns a snapshot of the contacts in ids alone (nil ids: all of
// s), for a contact's PUT.
func (s *snapshot) only(ids map[string]bool) *snapshot {
	if ids == nil {
		return s
	}
	kept := &snapshot{contacts: make(map[string]*heldContact, len(ids))}
	for id := range ids {
		if c, ok := s.contacts[id]; ok {
			kept.contacts[id] = ownContact(c)
		}
	}
	return kept
}

// ownContact returns a copy of c that shares no memory with the read it
// came from: only what a contact's PUT takes from it.
func ownContact(c *heldContact) *heldContact {
	own := &heldContact{Contact: Contact{ID: strings.Clone(c.ID), Groups: make([]string, len(c.Groups))}}
	for i, g := range c.Groups {
		own.Groups[i] = strings.Clone(g)
	}
	r := c.asRead()
	own.Addresses = make(map[string]string, len(r.Addresses))
	for k, v := range r.Addresses {
		own.Addresses[strings.Clone(k)] = strings.Clone(v)
	}
	return own
}

// applySnapshot returns the target as read for this apply: the drift
// check's read (see Versions), or, without one, a read made now, once
// for every change that asks. Only a contact's PUT needs it, for the
// fields ldapply does not manage; apply writes every contact before any
// group, so the memberships it holds are the ones the contact has.
func (p *Provider) applySnapshot(ctx context.Context) (*snapshot, error) {
	p.applyMu.Lock()
	defer p.applyMu.Unlock()
	if p.applySnap != nil {
		return p.applySnap, nil
	}
	snap, err := p.readObjects(ctx)
	if err != nil {
		return nil, err
	}
	snap.fillGroups(nil)
	p.applySnap = snap.only(p.written)
	return p.applySnap, nil
}

// keepApplySnapshot sets the snapshot the next contact PUTs use; nil
// makes the next one read the target again, all of it. Apply drops it
// before it writes a group, which changes the memberships it holds (a
// contact written after that belongs to a later apply), and so does
// Plan.
func (p *Provider) keepApplySnapshot(snap *snapshot) {
	p.applyMu.Lock()
	p.applySnap = snap
	if snap == nil {
		p.written = nil
	}
	p.applyMu.Unlock()
}

// Versions re-reads contacts and groups and returns their versions,
// computed as at plan time (apply's drift check). The read is kept for
// the contact PUTs that follow (see applySnapshot).
func (p *Provider) Versions(ctx context.Context, kinds []plan.Kind) (map[plan.Kind]map[string]string, error) {
	snap, err := p.read(ctx)
	if err != nil {
		return nil, err
	}
	out := map[plan.Kind]map[string]string{plan.KindUser: {}, plan.KindGroup: {}}
	snap.fillGroups(nil)
	for id := range snap.contacts {
		out[plan.KindUser][id] = snap.version(plan.KindUser, id)
	}
	for id := range snap.groups {
		out[plan.KindGroup][id] = snap.version(plan.KindGroup, id)
	}
	p.keepApplySnapshot(snap)
	return out, nil
}
