package udm

import (
	"encoding/json"
	"fmt"
	"maps"
	"strings"

	"github.com/ldapply/ldapply/apply"
	"github.com/ldapply/ldapply/plan"
)

var _ apply.Pruner = (*Provider)(nil)

// Prune returns c without its references to the users and groups whose
// create failed earlier in the apply (failed holds their target ids, the
// source primary keys), and the ids it left out. Only a group refers to
// others: its payload's properties.users and properties.nestedGroup hold
// member DNs. A DN that names no object must not be written: where UDM
// takes it (the simulator does), the next plan reads it as a member made
// by hand and keeps it, so the user, once created, is listed twice.
//
// An object that was never created has no DN in UCS, and the failed
// create's change is not at hand here, only its id. Its DN is in the
// group's payload, though: Plan writes properties.users and nestedGroup
// as the DNs of the ids in After.Lists["users"] and ["nestedGroup"], one
// for one and in the same order, and the DN of an object to be created is
// what its create would make of it: "uid=<username>" or "cn=<name>"
// under the create payload's position, which is user_ou or group_ou
// (EscapeRDN of the name property, as UDM writes it). Prune therefore
// drops the DN at a failed id's place, and first checks that it is such
// a DN: a plan whose payload does not line up with its lists is refused,
// not pruned by guess.
func (p *Provider) Prune(c *plan.Change, failed map[string]bool) (*plan.Change, []string, error) {
	if c.Kind != plan.KindGroup || c.Action == plan.Delete || len(c.Payload) == 0 || c.After == nil || !refersTo(c.After, failed) {
		return c, nil, nil
	}
	bad := func(what string, err error) error {
		if err != nil {
			what += fmt.Sprintf(" (%v)", err)
		}
		return fmt.Errorf("udm: the plan's payload of group %s %s, so the members whose create failed cannot be left out; run plan again", c.Name(), what)
	}
	var body, props map[string]json.RawMessage
	if err := json.Unmarshal(c.Payload, &body); err != nil {
		return nil, nil, bad("is not a JSON object", err)
	}
	if err := json.Unmarshal(body["properties"], &props); err != nil || props == nil {
		return nil, nil, bad("has no properties object", err)
	}
	after := *c.After
	after.Lists = maps.Clone(c.After.Lists)
	var left []string
	for _, l := range []string{listUsers, listNested} {
		kind := plan.KindUser
		if l == listNested {
			kind = plan.KindGroup
		}
		ids := c.After.Lists[l]
		if len(ids) == 0 {
			continue
		}
		var dns []string
		if err := json.Unmarshal(props[l], &dns); err != nil || len(dns) != len(ids) {
			return nil, nil, bad(fmt.Sprintf("has %d %s DNs for %d planned members", len(dns), l, len(ids)), err)
		}
		keepIDs, keepDNs := make([]string, 0, len(ids)), make([]string, 0, len(ids))
		for i, id := range ids {
			if !failed[id] {
				keepIDs, keepDNs = append(keepIDs, id), append(keepDNs, dns[i])
				continue
			}
			if !p.createdAt(kind, dns[i]) {
				return nil, nil, bad(fmt.Sprintf("has %s where the new %s %s belongs", dns[i], kind, id), nil)
			}
			left = append(left, id)
		}
		after.Lists[l] = keepIDs
		var err error
		if props[l], err = json.Marshal(keepDNs); err != nil {
			return nil, nil, err
		}
	}
	var err error
	if body["properties"], err = json.Marshal(props); err != nil {
		return nil, nil, err
	}
	pruned := *c
	pruned.After = &after
	if pruned.Payload, err = json.Marshal(body); err != nil {
		return nil, nil, err
	}
	return &pruned, left, nil
}

// refersTo reports whether o's member lists hold an id in failed.
func refersTo(o *plan.Object, failed map[string]bool) bool {
	for _, l := range []string{listUsers, listNested} {
		for _, id := range o.Lists[l] {
			if failed[id] {
				return true
			}
		}
	}
	return false
}

// createdAt reports whether dn is where a create of kind puts an object:
// its RDN attribute's, directly under user_ou or group_ou.
func (p *Provider) createdAt(kind plan.Kind, dn string) bool {
	attr, _, ok := strings.Cut(dn, "=")
	return ok && strings.EqualFold(attr, rdnAttr(kind)) && strings.EqualFold(parentDN(dn), p.ou(kind))
}
