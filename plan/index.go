package plan

import "unsafe"

// Index maps strings to values, like a map[string]V, and finds fastest
// the very strings it was given. A plan shares its strings: the ids in a
// group's member list are the strings of the member contacts' ids, and
// a member DN is the string of its user's NormDN (providers/ldap interns
// them). An Index looks such a string up by where its bytes are, a key
// of 8 bytes held inline in the table, before it looks at the text.
//
// That matters at scale. A string-keyed map must follow each key to its
// bytes to compare it: at 100,000 keys the table and the bytes no longer
// fit in the processor's caches, so a lookup costs more the more keys
// there are. An Index's lookup by address reads only its table.
// BenchmarkIndex compares the two at make bench's sizes.
//
// Lookups of an equal string held elsewhere still succeed, by text.
// The zero Index is not usable; make one with [NewIndex]. An Index is
// not safe for concurrent writes; concurrent Gets are safe.
type Index[V any] struct {
	// byAddr finds a string by the address of its bytes; the length
	// tells apart two strings that start at one address. The address is
	// a number the collector does not follow, so every string byAddr
	// names is kept alive by byText, and leaves byAddr when it leaves
	// byText: an address is never that of freed bytes.
	byAddr map[uintptr]addressed[V]
	byText map[string]indexed[V]
}

type addressed[V any] struct {
	n int
	v V
}

type indexed[V any] struct {
	s string // the string Set was given, whose address byAddr holds
	v V
}

func addrOf(s string) uintptr { return uintptr(unsafe.Pointer(unsafe.StringData(s))) }

// NewIndex returns an empty Index with room for n strings.
func NewIndex[V any](n int) *Index[V] {
	return &Index[V]{byAddr: make(map[uintptr]addressed[V], n), byText: make(map[string]indexed[V], n)}
}

// Set maps s, and every string equal to it, to v.
func (x *Index[V]) Set(s string, v V) {
	if old, ok := x.byText[s]; ok {
		delete(x.byAddr, addrOf(old.s))
	}
	x.byAddr[addrOf(s)] = addressed[V]{len(s), v}
	x.byText[s] = indexed[V]{s, v}
}

// Get returns the value of s, and whether there is one.
func (x *Index[V]) Get(s string) (V, bool) {
	if a, ok := x.byAddr[addrOf(s)]; ok && a.n == len(s) {
		return a.v, true
	}
	e, ok := x.byText[s]
	return e.v, ok
}

// Len returns the number of distinct strings in x.
func (x *Index[V]) Len() int { return len(x.byText) }
