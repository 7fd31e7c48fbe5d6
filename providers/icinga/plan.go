package icinga

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/ldapply/ldapply/internal/arena"
	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/planner"
	"github.com/ldapply/ldapply/providers/prefetch"
)

// Plan reads the target and computes the changes that make it match dir.
// It fills the returned plan's Changes, Refs, Warnings and Counts; the
// caller fills the header.
func (p *Provider) Plan(ctx context.Context, dir *plan.Directory, bindings plan.Bindings) (*plan.Plan, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p.keepApplySnapshot(nil) // an apply after this plan reads the target anew
	if p.prefetched == nil {
		p.Prefetch(ctx)
	}
	// A Plan that fails early leaves no read behind for the next one.
	defer func() { p.prefetched, p.prefetchedChannel = nil, nil }()
	// The desired side needs the directory and the channel alone: it is
	// drafted while the target's contacts and groups are still arriving.
	ch, err := prefetch.Take(ctx, &p.prefetchedChannel, p.readChannel)
	if err != nil {
		return nil, err
	}
	started := time.Now()
	t := &planning{p: p, channel: ch}
	res, err := planner.Plan(ctx, t, rules, dir, bindings)
	if err != nil {
		return nil, err
	}
	p.debug("Planned the changes.", "changes", len(res.Changes), "duration", time.Since(started))
	nameChannels(res, ch)
	return res, nil
}

// nameChannels has the plan show the default channels its changes
// set or replace by name ("E-Mail"); the changes keep the ids, which
// apply sends.
func nameChannels(res *plan.Plan, ch Channel) {
	for i := range res.Changes {
		c := &res.Changes[i]
		for _, o := range []*plan.Object{c.Before, c.After} {
			if o == nil {
				continue
			}
			id, ok := o.Attrs[attrDefaultChannel]
			if !ok {
				continue
			}
			name, known := ch.names[id]
			if !known {
				continue
			}
			if res.Refs.Names == nil {
				res.Refs.Names = map[string]string{}
			}
			res.Refs.Names[id] = name
			if len(res.Refs.Attrs) == 0 {
				res.Refs.Attrs = []string{attrDefaultChannel}
			}
		}
	}
}

// rules are what Icinga declares to the planner. Group names may be
// shared: Icinga Notifications Web before PR #534 lets two groups have
// one name.
var rules = &planner.Rules{
	Target:      "Icinga",
	NameField:   map[plan.Kind]string{plan.KindUser: attrUsername, plan.KindGroup: "name"},
	Limits:      Limits,
	Members:     planner.Membership{Users: listMembers},
	SharedNames: []plan.Kind{plan.KindGroup},
	Unmanaged: func(o *plan.Object) (string, string) {
		if o.Kind == plan.KindGroup {
			return "the Icinga contact group " + o.ID, "rename or delete that contact group in Icinga"
		}
		return "Icinga contact " + o.ID, "rename or delete that contact in Icinga"
	},
}

// planning is one plan's view of Icinga, for the planner.
type planning struct {
	p       *Provider
	channel Channel
	snap    *snapshot
	buf     bytes.Buffer
}

// Desire maps a source user to a contact and a source group to a
// contact group.
func (t *planning) Desire(k plan.Kind, e *plan.Entry) (*plan.Object, string, error) {
	if k == plan.KindGroup {
		name, err := t.p.tmpl.groupName.Execute(e, &t.buf)
		if err != nil {
			return nil, "", fmt.Errorf("icinga: target.icinga.map.group_name for %s: %w", e.DN, err)
		}
		if name == "" {
			return nil, fmt.Sprintf("group %s has no name (map.group_name is empty) and is skipped", e.DN), nil
		}
		return &plan.Object{Name: name}, "", nil
	}
	tm := &t.p.tmpl
	username, err := tm.username.Execute(e, &t.buf)
	if err != nil {
		return nil, "", fmt.Errorf("icinga: target.icinga.map.username for %s: %w", e.DN, err)
	}
	if username == "" {
		return nil, fmt.Sprintf("user %s has no username (map.username is empty) and is skipped", e.DN), nil
	}
	email, err := tm.email.Execute(e, &t.buf)
	if err != nil {
		return nil, "", fmt.Errorf("icinga: target.icinga.map.email for %s: %w", e.DN, err)
	}
	if email == "" && t.channel.Type == "email" {
		return nil, fmt.Sprintf("user %s (%s) has no email address and is skipped: an Icinga contact needs one for its email default channel", username, e.DN), nil
	}
	fullName, err := tm.fullName.Execute(e, &t.buf)
	if err != nil {
		return nil, "", fmt.Errorf("icinga: target.icinga.map.full_name for %s: %w", e.DN, err)
	}
	if fullName == "" {
		fullName = username
	}
	attrs := map[string]string{attrUsername: username, attrFullName: fullName, attrDefaultChannel: t.channel.ID}
	if email != "" {
		attrs[attrEmail] = email
	}
	return &plan.Object{Name: username, Attrs: attrs}, "", nil
}

// NewID derives the id of a new contact or contact group.
func (t *planning) NewID(k plan.Kind, key, name string) string {
	if k == plan.KindGroup {
		return t.p.GroupID(key, name)
	}
	return t.p.ContactID(key, name)
}

// Current returns Icinga's contacts and contact groups, from the read
// Prefetch started.
func (t *planning) Current(ctx context.Context) (*planner.Current, error) {
	snap, err := prefetch.Take(ctx, &t.p.prefetched, t.p.readObjects)
	if err != nil {
		return nil, err
	}
	snap.channel = t.channel
	t.snap = snap
	cur := &planner.Current{
		Objects: make([]*plan.Object, 0, len(snap.ordered)+len(snap.groups)),
		Counts:  map[string]int{"target contacts": len(snap.contacts), "target contact groups": len(snap.groups)},
	}
	var objs arena.Slab[plan.Object] // held to the plan's end
	for _, c := range snap.ordered {
		cur.Objects = append(cur.Objects, contactObject(c, &objs))
	}
	for _, g := range snap.groups {
		cur.Objects = append(cur.Objects, groupObject(g))
	}
	return cur, nil
}

// SetVersions hashes the contacts and groups as read; a contact's groups
// are part of it, filled here for the contacts asked about.
func (t *planning) SetVersions(objs []*plan.Object) {
	need := map[string]bool{}
	for _, o := range objs {
		if o.Kind == plan.KindUser {
			need[o.ID] = true
		}
	}
	if len(need) > 0 {
		t.snap.fillGroups(need)
	}
	for _, o := range objs {
		o.Version = t.snap.version(o.Kind, o.ID)
	}
}
