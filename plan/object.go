package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"iter"
	"maps"
	"slices"
	"strings"
)

// Kind names a class of target objects. Targets use the two generic kinds;
// what a kind is called in a target (contact, users/user) is the
// provider's business.
type Kind string

const (
	KindUser  Kind = "user"
	KindGroup Kind = "group"
)

// Kinds lists the kinds in the order apply creates them: users before the
// groups that reference them. Deletes run in the reverse order.
var Kinds = []Kind{KindUser, KindGroup}

// Entry is one LDAP entry as the source read it.
type Entry struct {
	// DN is the entry's DN as the server returned it.
	DN string
	// NormDN is the DN in a canonical form (attribute types and values
	// lower-cased, no insignificant spaces) used to match member values.
	NormDN string
	// Key is the entry's primary key rendered as a string (entryUUID,
	// objectGUID in its canonical form, or a configured attribute).
	Key string
	// Attrs holds the attribute values, keyed by the attribute name as
	// the server returned it. Map lookups are case-sensitive; First and
	// the mapping templates (providers/mapping) also find a name in
	// another case.
	Attrs map[string][]string
	// Members holds, for a group, the NormDN of every direct member
	// (users and groups alike), sorted, each once. Empty for users.
	Members DNs
	// Transitive holds, for a group whose source resolved nesting itself
	// (AD's in-chain rule, which also follows groups the read did not
	// return), the NormDN of every user member, direct or nested, sorted,
	// each once. It is nil when the source did not: the planner then
	// expands Members through the groups read.
	Transitive *DNs
}

// DNs is a list of DNs held as indexes into a table that the entries
// of one read share (a [DNTable]). A group's member list is then
// numbers, which the collector does not look into: at 100,000 users the
// groups hold 2,000,000 member values, and as strings each was a
// pointer that every collection cycle of the read followed. The zero
// DNs is an empty list.
type DNs struct {
	table *DNTable
	ids   []uint32
}

// NewDNs returns a list of dns in their order, with a table of its own
// (for a source that has no table to share, and for tests).
func NewDNs(dns ...string) DNs {
	t := &DNTable{}
	ids := make([]uint32, len(dns))
	for i, dn := range dns {
		ids[i] = t.Add(dn)
	}
	return t.List(ids)
}

// Len returns the number of DNs in the list.
func (l DNs) Len() int { return len(l.ids) }

// At returns the i-th DN.
func (l DNs) At(i int) string { return l.table.dns[l.ids[i]] }

// All yields the DNs in order.
func (l DNs) All() iter.Seq[string] {
	return func(yield func(string) bool) {
		for _, id := range l.ids {
			if !yield(l.table.dns[id]) {
				return
			}
		}
	}
}

// Table returns the table l's numbers index (nil for an empty list).
func (l DNs) Table() *DNTable { return l.table }

// IDs returns the DNs' numbers in l's table, in order; the caller must
// not change them.
func (l DNs) IDs() []uint32 { return l.ids }

// Strings returns the DNs as a slice of their own.
func (l DNs) Strings() []string { return slices.Collect(l.All()) }

// DNTable numbers DNs for [DNs] lists. It is not safe for concurrent
// use: a source that fills one from several goroutines must lock it,
// and a list must not be read while its table is still being added to
// from another goroutine.
type DNTable struct {
	dns []string
}

// Add appends dn to the table and returns its number. It does not look
// for dn among the DNs already there: that is the caller's business.
func (t *DNTable) Add(dn string) uint32 {
	t.dns = append(t.dns, dn)
	return uint32(len(t.dns) - 1)
}

// Len returns the number of DNs in the table.
func (t *DNTable) Len() int { return len(t.dns) }

// At returns the DN numbered id.
func (t *DNTable) At(id uint32) string { return t.dns[id] }

// List returns the list of the DNs numbered ids, which it keeps (the
// caller must not change them afterwards).
func (t *DNTable) List(ids []uint32) DNs {
	if len(ids) == 0 {
		return DNs{}
	}
	return DNs{table: t, ids: ids}
}

// First returns the first value of attr, or "". The name's case does
// not matter.
func (e *Entry) First(attr string) string {
	if v := e.Attrs[attr]; len(v) > 0 {
		return v[0]
	}
	for k, v := range e.Attrs { // attribute names are case-insensitive
		if len(v) > 0 && strings.EqualFold(k, attr) {
			return v[0]
		}
	}
	return ""
}

// Directory is a complete read of the source: every user and group the
// configured searches returned. A source must never return a partial
// Directory; on any read error it returns an error instead.
type Directory struct {
	Users  []*Entry
	Groups []*Entry
	// Referred names the kinds whose search the server did not answer
	// but referred elsewhere (LDAP result 10, a base it does not hold),
	// with the referral URLs. Their read is empty, not complete: an
	// object missing from it must not be taken as deleted (see
	// HoldReferred).
	Referred map[Kind][]string
}

// HoldReferred returns bs without the bindings of the referred kinds
// whose keys the read did not return, and how many it left out per
// kind. Planned with those, a target takes the objects for ones it does
// not manage and leaves them as they are: a referral never turns into
// deletes. bs itself is not changed.
func (d *Directory) HoldReferred(bs Bindings) (Bindings, map[Kind]int) {
	if len(d.Referred) == 0 {
		return bs, nil
	}
	out := make(Bindings, len(bs))
	maps.Copy(out, bs)
	held := map[Kind]int{}
	for k := range d.Referred {
		read := map[string]bool{}
		entries := d.Users
		if k == KindGroup {
			entries = d.Groups
		}
		for _, e := range entries {
			read[e.Key] = true
		}
		kept := map[string]Binding{}
		for key, b := range bs[k] {
			if read[key] {
				kept[key] = b
			} else {
				held[k]++
			}
		}
		out[k] = kept
	}
	return out, held
}

// Object is a target object in target terms: desired (built from the
// source) or current (read from the target).
type Object struct {
	Kind Kind `json:"kind"`
	// Key is the source primary key. Empty on a current object that no
	// binding names (an object ldapply does not manage).
	Key string `json:"key,omitempty"`
	// ID is the target's identifier (a UUID, a DN, ...).
	ID string `json:"id"`
	// Name is the human name: username for users, name for groups. A
	// different Name with the same Key is a rename.
	Name string `json:"name"`
	// Attrs are the single-valued attributes ldapply manages.
	Attrs map[string]string `json:"attrs,omitempty"`
	// Lists are the multi-valued attributes ldapply manages, compared as
	// sets; providers keep each list sorted.
	Lists map[string][]string `json:"lists,omitempty"`
	// Sensitive names attributes whose values must never be shown. A
	// plan stores only a salted hash for them.
	Sensitive []string `json:"sensitive,omitempty"`
	// Version identifies the target's current copy of the object (a hash
	// of what the target returned). Empty on desired objects.
	Version string `json:"version,omitempty"`
}

// IsSensitive reports whether attr must be hidden.
func (o *Object) IsSensitive(attr string) bool { return slices.Contains(o.Sensitive, attr) }

// Binding is the state's record of one managed object: the source primary
// key it came from, the target id it lives under, and its last known name.
type Binding struct {
	Kind Kind   `json:"kind"`
	Key  string `json:"key"`
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Bindings indexes the state's bindings by kind and primary key.
type Bindings map[Kind]map[string]Binding

// Add records b.
func (bs Bindings) Add(b Binding) {
	m := bs[b.Kind]
	if m == nil {
		m = map[string]Binding{}
		bs[b.Kind] = m
	}
	m[b.Key] = b
}

// ByID returns, for one kind, the bindings indexed by target id.
func (bs Bindings) ByID(k Kind) map[string]Binding {
	out := make(map[string]Binding, len(bs[k]))
	for _, b := range bs[k] {
		out[b.ID] = b
	}
	return out
}

// VersionOf returns a stable hash of v's JSON encoding. Providers use it to
// derive Object.Version from the raw object the target returned.
func VersionOf(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		// Only values that cannot be encoded at all fail; providers pass
		// decoded JSON, which always encodes.
		panic("plan: VersionOf: " + err.Error())
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12])
}
