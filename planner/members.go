package planner

import (
	"cmp"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/ldapply/ldapply/plan"
)

// ranks returns the indexes of objs sorted by id (byID) and, by index,
// each one's place in that order (rank).
func ranks(objs []*plan.Object) (byID, rank []int32) {
	byID = make([]int32, len(objs))
	for i := range byID {
		byID[i] = int32(i)
	}
	slices.SortFunc(byID, func(a, b int32) int { return strings.Compare(objs[a].ID, objs[b].ID) })
	rank = make([]int32, len(objs))
	for r, i := range byID {
		rank[i] = int32(r)
	}
	return byID, rank
}

// resolved is what a member DN of a source group is.
type resolved struct {
	kind resolvedKind
	// at is the desired user's index, the source group's index in
	// dir.Groups, or, for isOther, the DN's number in its table.
	at int32
}

type resolvedKind uint8

const (
	unresolved resolvedKind = iota
	isUser                  // a desired user
	isGroup                 // a source group, desired or not
	isLeftOut               // a source user left out of the plan (it has its own warning)
	isOther                 // none of these: an entry the source did not read
)

// resolver finds what a member DN is. Member lists number their DNs in
// a table the entries of one read share (plan.DNs): each number is
// resolved once, by text, and then found by its number.
type resolver struct {
	userAt  map[string]int32 // NormDN -> desired user index, or -1 for one left out
	groupAt map[string]int32 // NormDN -> index in dir.Groups
	groups  []*plan.Entry    // dir.Groups
	desired []int32          // by index in dir.Groups: the desired group's index, or -1
	tables  map[*plan.DNTable][]resolved
}

// newResolver indexes the desired users and the source groups; users
// and groups give, by entry, the index of its desired object or -1.
func newResolver(dir *plan.Directory, users, groups []int32) *resolver {
	rs := &resolver{userAt: make(map[string]int32, len(dir.Users)), groupAt: make(map[string]int32, len(dir.Groups)),
		groups: dir.Groups, desired: groups, tables: map[*plan.DNTable][]resolved{}}
	for i, e := range dir.Users {
		rs.userAt[e.NormDN] = users[i]
	}
	for i, g := range dir.Groups {
		rs.groupAt[g.NormDN] = int32(i)
	}
	return rs
}

// byText resolves a NormDN.
func (rs *resolver) byText(dn string) resolved {
	if i, ok := rs.userAt[dn]; ok {
		if i < 0 {
			return resolved{kind: isLeftOut}
		}
		return resolved{isUser, i}
	}
	if i, ok := rs.groupAt[dn]; ok {
		return resolved{isGroup, i}
	}
	return resolved{kind: isOther}
}

// prepare resolves every DN of the tables the groups' lists use, so
// that each, reading only, may run on several goroutines.
func (rs *resolver) prepare(groups []*plan.Entry) {
	add := func(l *plan.DNs) {
		if l == nil || l.Table() == nil {
			return
		}
		t := l.Table()
		if _, done := rs.tables[t]; done {
			return
		}
		known := make([]resolved, t.Len())
		for id := range known {
			known[id] = rs.byText(t.At(uint32(id)))
			if known[id].kind == isOther {
				known[id].at = int32(id)
			}
		}
		rs.tables[t] = known
	}
	for _, g := range groups {
		add(&g.Members)
		add(g.Transitive)
	}
}

// each calls f with what each DN of l is, in order. l's table must have
// been prepared.
func (rs *resolver) each(l plan.DNs, f func(resolved)) {
	known := rs.tables[l.Table()]
	for _, id := range l.IDs() {
		f(known[id])
	}
}

// member is a desired user in a group: via is "" for a direct member,
// else the name of the nested group it came through.
type member struct {
	rank int32 // the user's rank
	ord  int32 // 0 for a direct member, else the order found
	via  string
}

// nested reports whether m came through a nested group.
func (m member) nested() bool { return m.via != "" }

// directRanks returns the ranks of ms, all direct members, sorted and
// each once: sorted as integers, which is what most groups need.
func directRanks(ms []member) []int32 {
	ranks := make([]int32, len(ms))
	for i, m := range ms {
		ranks[i] = m.rank
	}
	slices.Sort(ranks)
	return slices.Compact(ranks)
}

// collectMembers fills d.members and, as m asks, d.via or d.nested.
func (d *drafted) collectMembers(m Membership, rs *resolver) {
	n := len(d.groups.objs)
	d.members = make([][]int32, n)
	d.unresolved = make([][]uint32, n)
	if m.Groups == "" {
		d.via = make([]map[int32]string, n)
	} else {
		d.nested = make([][]int32, n)
	}
	rs.prepare(rs.groups)
	// The groups are independent: at 100,000 users they hold 2,000,000
	// members, collected on every core (TestMembersMatchReference fences
	// it against the plain version).
	workers := min(runtime.GOMAXPROCS(0), max(1, n/64))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			var ms []member // reused for each group
			for gi := w; gi < n; gi += workers {
				ms = d.collectGroup(gi, m, rs, ms[:0])
			}
		})
	}
	wg.Wait()
}

// collectGroup fills the members of desired group gi; ms is scratch,
// returned for the next group.
func (d *drafted) collectGroup(gi int, m Membership, rs *resolver, ms []member) []member {
	e := d.groups.entries[gi]
	if m.Groups != "" {
		d.members[gi], d.nested[gi], d.unresolved[gi] = d.direct(e, rs)
		return ms
	}
	ms = d.flatten(e, rs, ms, "", nil, &d.unresolved[gi])
	if e.Transitive == nil && !slices.ContainsFunc(ms, member.nested) {
		d.members[gi] = directRanks(ms) // most groups: no nested member
		return ms
	}
	slices.SortFunc(ms, func(a, b member) int { return cmp.Or(cmp.Compare(a.rank, b.rank), cmp.Compare(a.ord, b.ord)) })
	ms = slices.CompactFunc(ms, func(a, b member) bool { return a.rank == b.rank })
	d.members[gi], d.via[gi] = d.transitive(e, rs, ms)
	return ms
}

// direct returns the desired users (as ranks) and the desired groups
// (as indexes) among g's direct members, each sorted, and the numbers of
// the member DNs that match no entry read.
func (d *drafted) direct(g *plan.Entry, rs *resolver) (users, groups []int32, other []uint32) {
	users = []int32{}
	rs.each(g.Members, func(r resolved) {
		switch {
		case r.kind == isUser:
			users = append(users, d.rank[r.at])
		case r.kind == isGroup && rs.desired[r.at] >= 0:
			groups = append(groups, rs.desired[r.at])
		case r.kind == isOther:
			other = append(other, uint32(r.at))
		}
	})
	slices.Sort(users)
	slices.Sort(groups)
	return slices.Compact(users), slices.Compact(groups), other
}

// flatten appends g's member users to ms, following nested groups; via
// names the nested group g was reached through ("" for the group
// itself), and seen, made at the first nested group, guards against
// cycles. other, when not nil, receives the numbers of g's own member
// DNs that match no entry read (a nested group reports its own).
func (d *drafted) flatten(g *plan.Entry, rs *resolver, ms []member, via string, seen map[*plan.Entry]bool, other *[]uint32) []member {
	rs.each(g.Members, func(r resolved) {
		switch r.kind {
		case isUser:
			var ord int32
			if via != "" {
				ord = int32(len(ms) + 1)
			}
			ms = append(ms, member{rank: d.rank[r.at], ord: ord, via: via})
		case isGroup:
			sub := rs.groups[r.at]
			if seen == nil {
				seen = map[*plan.Entry]bool{g: true}
			}
			if seen[sub] {
				return
			}
			seen[sub] = true
			ms = d.flatten(sub, rs, ms, cmp.Or(via, sub.First("cn"), sub.DN), seen, nil)
		case isOther:
			if other != nil {
				*other = append(*other, uint32(r.at))
			}
		}
	})
	return ms
}

// transitive returns g's member users as ranks, and the nested group
// each one that is not a direct member came through. ms is g's members
// as flatten found them (sorted by rank, one each: the direct
// membership, else the first nested group found). When the source
// resolved nesting itself (AD's in-chain rule, also through groups it
// did not read), its list is the members.
func (d *drafted) transitive(g *plan.Entry, rs *resolver, ms []member) ([]int32, map[int32]string) {
	var via map[int32]string
	setVia := func(r int32, v string) {
		if via == nil {
			via = map[int32]string{}
		}
		via[r] = v
	}
	if g.Transitive == nil {
		out := make([]int32, len(ms))
		for i, m := range ms {
			out[i] = m.rank
			if m.via != "" {
				setVia(m.rank, m.via)
			}
		}
		return out, via
	}
	out := make([]int32, 0, g.Transitive.Len())
	rs.each(*g.Transitive, func(r resolved) {
		if r.kind == isUser {
			out = append(out, d.rank[r.at])
		}
	})
	slices.Sort(out)
	out = slices.Compact(out)
	for _, r := range out {
		v := "a nested group"
		if j, found := slices.BinarySearchFunc(ms, r, func(m member, r int32) int { return cmp.Compare(m.rank, r) }); found {
			v = ms[j].via
		}
		if v != "" {
			setVia(r, v)
		}
	}
	return out, via
}
