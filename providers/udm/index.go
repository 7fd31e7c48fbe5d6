package udm

import (
	"context"
	"slices"
	"strings"

	"github.com/ldapply/ldapply/plan"
)

// index is where UCS keeps each user and group, as apply knows it: read
// once, then kept up to date with the creates, renames and deletes this
// provider makes. Apply takes the DNs it sends from it (a group's members,
// the object a change writes) and reads member DNs back into target ids
// with it.
//
// was keeps the DN each object had before this apply renamed it: a group
// read just before the rename landed (UDM rewrites the member DNs of the
// groups holding a renamed object) still names it so, and that is the
// same member, not a change by someone else. It outlives a fresh read.
type index struct {
	dn  map[plan.Kind]map[string]string // target id -> DN
	id  map[string]string               // lower-case DN -> target id
	was map[string]string               // lower-case DN before a rename by this apply -> target id
}

// readIndex reads both lists, at once, as Plan does.
func (p *Provider) readIndex(ctx context.Context) (*index, error) {
	found, err := p.readLists(ctx)
	if err != nil {
		return nil, err
	}
	x := &index{dn: map[plan.Kind]map[string]string{}, id: map[string]string{}, was: map[string]string{}}
	for i, k := range plan.Kinds {
		x.dn[k] = map[string]string{}
		for _, o := range found[i] {
			id := str(o.Properties()[p.keyProp(k)])
			if id == "" {
				id = o.DN() // as Plan names an object without a key
			}
			x.set(k, id, o.DN())
		}
	}
	return x, nil
}

func (x *index) set(k plan.Kind, id, dn string) {
	if old, ok := x.dn[k][id]; ok {
		delete(x.id, strings.ToLower(old))
		if dn != "" && !strings.EqualFold(old, dn) {
			x.was[strings.ToLower(old)] = id
		}
	}
	if dn == "" {
		delete(x.dn[k], id)
		return
	}
	x.dn[k][id] = dn
	x.id[strings.ToLower(dn)] = id
}

// asPlanned turns member DNs into target ids as ids does, but leaves
// the DN of an object this apply created (born, lower-case DNs) a DN,
// as Plan, which ran before the create, saw it.
func (x *index) asPlanned(dns []string, born map[string]bool) []string {
	ids := make([]string, 0, len(dns))
	for _, dn := range dns {
		if born[strings.ToLower(dn)] {
			ids = append(ids, dn)
		} else {
			id, _ := x.ids([]string{dn})
			ids = append(ids, id...)
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// ids turns member DNs into target ids as Plan does (see snapshot.ids),
// a DN an object had before this apply renamed it included. missed is
// true when a DN under one of ous is not in the index: a read of UCS made
// now may know it.
func (x *index) ids(dns []string, ous ...string) (ids []string, missed bool) {
	ids = make([]string, 0, len(dns))
	for _, dn := range dns {
		id, found := x.id[strings.ToLower(dn)]
		if !found {
			id, found = x.was[strings.ToLower(dn)]
		}
		if !found {
			id = dn
			for _, ou := range ous {
				missed = missed || strings.HasSuffix(strings.ToLower(dn), ","+strings.ToLower(ou))
			}
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return slices.Compact(ids), missed
}

// withIndex calls f with the index under the provider's lock, reading it
// first if no apply step has yet; fresh forces a new read (the index
// missed a DN that UCS now has: a rename by this apply, still in
// flight, or one made by hand).
func (p *Provider) withIndex(ctx context.Context, fresh bool, f func(*index) error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.at == nil || fresh {
		x, err := p.readIndex(ctx)
		if err != nil {
			return err
		}
		if p.at != nil {
			x.was = p.at.was
		}
		p.at = x
	}
	return f(p.at)
}

// moved records that the object of kind k and id is now at dn ("": it
// is gone). Before the index is read there is nothing to record: the
// read will find it there.
func (p *Provider) moved(k plan.Kind, id, dn string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.at != nil {
		p.at.set(k, id, dn)
	}
}

// created records that this apply created the object of kind k and id
// at dn (see Provider.born).
func (p *Provider) created(k plan.Kind, id, dn string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.at != nil {
		p.at.set(k, id, dn)
	}
	if p.born == nil {
		p.born = map[string]bool{}
	}
	p.born[strings.ToLower(dn)] = true
}
