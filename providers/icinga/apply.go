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
// (see contactBody and groupBody) and, for what ldapply does not manage,
// from the target as apply read it.
func (p *Provider) Apply(ctx context.Context, c *plan.Change) error {
	if c.Action == plan.Adopt && plan.Equal(c.Before, c.After) {
		return nil // an adoption with nothing to send
	}
	var err error
	switch {
	case c.Action == plan.Delete && c.Kind == plan.KindUser:
		err = p.client.DeleteContact(ctx, c.ID)
	case c.Action == plan.Delete && c.Kind == plan.KindGroup:
		p.groupWritten()
		err = p.client.DeleteGroup(ctx, c.ID)
	case c.After == nil:
		return fmt.Errorf("icinga: %s %s %s has no desired object; run plan again", c.Action, c.Kind, c.Name())
	case c.Kind == plan.KindUser:
		var snap *snapshot
		if snap, err = p.applySnapshot(ctx, true); err == nil {
			err = p.put(ctx, c, p.client.PutContact, contactBody(c.After, snap.contacts[c.ID]))
		}
	case c.Kind == plan.KindGroup:
		var snap *snapshot
		if snap, err = p.applySnapshot(ctx, false); err == nil {
			p.groupWritten()
			err = p.put(ctx, c, p.client.PutGroup, groupBody(c, snap.groups[c.ID]))
		}
	default:
		return fmt.Errorf("icinga: unknown kind %q in plan", c.Kind)
	}
	if c.Action == plan.Delete && IsNotFound(err) {
		return nil
	}
	return err
}

// groupBody is the PUT body of group change c: its name, and as users
// the members After lists, plus those cur (the group as apply read it;
// nil when Icinga does not have it) holds that the plan did not see
// there (see plan.MergeList).
func groupBody(c *plan.Change, cur *Group) Group {
	var now, before []string
	if cur != nil {
		now = cur.Users
	}
	if c.Before != nil {
		before = c.Before.Lists[listMembers]
	}
	return Group{ID: c.ID, Name: c.After.Name, Users: plan.MergeList(now, before, c.After.Lists[listMembers])}
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

// Prepare notes the contacts and groups the plan writes. Of the drift
// check's read (or, without one, of apply's own), apply keeps those
// alone, the contacts copied out of the read's shared blocks: the rest of
// the read is freed while apply runs.
func (p *Provider) Prepare(pl *plan.Plan) {
	written := map[string]bool{}
	for i := range pl.Changes {
		if c := &pl.Changes[i]; c.Action != plan.Delete {
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

// only returns a snapshot of the contacts and groups in ids alone (nil
// ids: all of s), for the PUTs of apply.
func (s *snapshot) only(ids map[string]bool) *snapshot {
	if ids == nil {
		return s
	}
	kept := &snapshot{contacts: map[string]*heldContact{}, groups: map[string]*Group{}}
	for id := range ids {
		if c, ok := s.contacts[id]; ok {
			kept.contacts[id] = ownContact(c)
		}
		if g, ok := s.groups[id]; ok {
			kept.groups[id] = g
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
// for every change that asks. A contact's PUT takes the addresses
// ldapply does not manage and the memberships from it; apply writes
// every contact before any group, so the memberships it holds are the
// ones the contact has, unless a group was written since the read
// (forContact then reads again: the contact belongs to a later apply).
// A group's PUT takes the members it holds (see groupBody), which no
// other write of the apply changes.
func (p *Provider) applySnapshot(ctx context.Context, forContact bool) (*snapshot, error) {
	p.applyMu.Lock()
	defer p.applyMu.Unlock()
	if p.applySnap != nil && !(forContact && p.groupsWritten) {
		return p.applySnap, nil
	}
	snap, err := p.readObjects(ctx)
	if err != nil {
		return nil, err
	}
	snap.fillGroups(nil)
	p.keepLocked(snap.only(p.written))
	return p.applySnap, nil
}

// groupWritten notes that a group is about to be written.
func (p *Provider) groupWritten() {
	p.applyMu.Lock()
	p.groupsWritten = true
	p.applyMu.Unlock()
}

// keepApplySnapshot sets the read the next PUTs use; nil makes the next
// one read the target again, all of it (Plan sets nil: an apply after it
// is another apply).
func (p *Provider) keepApplySnapshot(snap *snapshot) {
	p.applyMu.Lock()
	defer p.applyMu.Unlock()
	p.keepLocked(snap)
	if snap == nil {
		p.written = nil
	}
}

// keepLocked is keepApplySnapshot with applyMu held.
func (p *Provider) keepLocked(snap *snapshot) {
	p.applySnap, p.groupsWritten = snap, false
}

// Versions re-reads contacts and groups and returns their versions,
// computed as at plan time (apply's drift check). The read is kept for
// the PUTs that follow (see applySnapshot).
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
