package scim

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/ldapply/ldapply/plan"
)

// byUsername rebinds, with adopt_by_username, each user the service
// holds without an externalId whose userName (case-insensitively) a
// source user wants and no resource holds that source key: its plan id
// becomes the key, so the planner adopts it. Group member lists follow
// the new ids. objs are not modified; the users rebound are returned by
// key.
func (t *planning) byUsername(objs []*plan.Object) ([]*plan.Object, map[string]bool) {
	if !t.p.cfg.AdoptByUsername || len(t.wanted) == 0 {
		return objs, nil
	}
	held := map[string]bool{}
	for _, o := range objs {
		if o.Kind == plan.KindUser {
			held[o.ID] = true
		}
	}
	renamed := map[string]string{} // old plan id -> key
	adopted := map[string]bool{}
	out := make([]*plan.Object, len(objs))
	for i, o := range objs {
		out[i] = o
		key, ok := t.wanted[strings.ToLower(o.Name)]
		if o.Kind != plan.KindUser || !strings.HasPrefix(o.ID, unkeyed) || !ok || held[key] || adopted[key] {
			continue
		}
		if _, bound := t.bindings[plan.KindUser][key]; bound {
			continue // the state names another resource for this key
		}
		cp := *o
		cp.ID = key
		out[i], renamed[o.ID], adopted[key] = &cp, key, true
	}
	if len(renamed) == 0 {
		return objs, nil
	}
	for i, o := range out {
		ms := o.Lists[listMembers]
		if o.Kind != plan.KindGroup || !slices.ContainsFunc(ms, func(id string) bool { return renamed[id] != "" }) {
			continue
		}
		cp := *o
		ids := make([]string, len(ms))
		for j, id := range ms {
			ids[j] = id
			if k := renamed[id]; k != "" {
				ids[j] = k
			}
		}
		slices.Sort(ids)
		cp.Lists = map[string][]string{listMembers: ids}
		out[i] = &cp
	}
	return out, adopted
}

// adoptedWarning names the users the plan adopts by userName.
func adoptedWarning(changes []plan.Change, adopted map[string]bool) string {
	var names []string
	for _, c := range changes {
		if c.Action == plan.Adopt && c.Kind == plan.KindUser && adopted[c.Key] {
			names = append(names, fmt.Sprintf("%q", c.Name()))
		}
	}
	if len(names) == 0 {
		return ""
	}
	return fmt.Sprintf("%d users without an externalId are adopted by their userName (target.scim.adopt_by_username); apply sets their externalId to the source key: %s",
		len(names), strings.Join(names, ", "))
}

// claim makes sure the resource an adoption takes carries the source
// key: a user adopted by userName gets its externalId set (under
// If-Match), unless it got one since the plan, which is drift.
func (p *Provider) claim(ctx context.Context, c *plan.Change) error {
	id, err := p.index(ctx, c.Kind, c.ID)
	if err != nil || id != "" {
		return err
	}
	p.mu.Lock()
	id = p.named[strings.ToLower(c.Before.Name)]
	p.mu.Unlock()
	if c.Kind != plan.KindUser || !p.cfg.AdoptByUsername || id == "" {
		return fmt.Errorf("scim: adopt %s %s: no resource in the service has the externalId %s: %w", c.Kind, c.Name(), c.ID, ErrDrift)
	}
	r, tag, err := p.client.Get(ctx, Users, id)
	if err != nil {
		return fmt.Errorf("scim: adopt user %s: %w", c.Name(), err)
	}
	if r.ExternalID() != "" || !strings.EqualFold(r.str("userName"), c.Before.Name) {
		return fmt.Errorf("scim: adopt user %s: the user changed since the plan (externalId %q, userName %q): %w", c.Name(), r.ExternalID(), r.str("userName"), ErrDrift)
	}
	caps, err := p.capabilities(ctx)
	if err != nil {
		return err
	}
	if caps.Patch {
		_, err = p.client.Patch(ctx, Users, id, tag, []Op{{Op: "replace", Path: "externalId", Value: c.Key}})
	} else {
		err = p.replaceWith(ctx, plan.KindUser, id, func(r Resource) { r["externalId"] = c.Key })
	}
	if err != nil {
		return fmt.Errorf("scim: adopt user %s: set its externalId: %w", c.Name(), err)
	}
	return p.remember(ctx, c.Kind, c.ID, id)
}
