// Package arena holds memory tools for data that lives from a read to
// the end of a plan: strings and values cut from shared blocks, which
// the Go collector scans far faster than millions of small objects of
// their own. They are about memory, not about the domain, and so are
// internal: package plan and the providers use them, nothing outside
// this module can.
package arena

import "strings"

// Strings copies strings into shared blocks of memory, for data a plan
// holds from its read to its end. The Go collector finds its way from a
// pointer to a block's span at once, while a pointer to a small object
// of its own costs it a read of that object's span: in the heap of a
// large plan those reads miss the processor's caches, at every cycle,
// for each of millions of pointers (the user entries' values, the
// groups' member DNs, the bindings), so the collector's work would grow
// faster than the directory.
//
// A block lives as long as any string in it: put strings that die
// together in one Strings. The zero Strings is ready to use; it is not
// safe for concurrent use.
type Strings struct {
	b strings.Builder
}

// stringsBlock is the size of a Strings block: a large object to the
// collector (over 32 KB), with little left unused in the last one.
const stringsBlock = 256 << 10

// Add returns a copy of s held in the arena. Copies already handed out
// never change: a block is only written past its end, within its
// capacity, and a full block is left to the strings in it.
func (a *Strings) Add(s string) string {
	if s == "" {
		return ""
	}
	if a.b.Cap()-a.b.Len() < len(s) {
		a.b = strings.Builder{}
		a.b.Grow(max(stringsBlock, len(s)))
	}
	at := a.b.Len()
	a.b.WriteString(s)
	return a.b.String()[at:]
}

// Slab hands out slices of T cut from shared blocks, for the same reason
// as [Strings]: a pointer into a large block costs the collector less
// than a pointer to an object of its own. Each slice's capacity is its
// length, so an append to it copies rather than writes into the next
// one. The zero Slab is ready to use; it is not safe for concurrent use.
type Slab[T any] struct {
	block []T
	// Per is the number of elements a block holds (at least the
	// request); 0 means 4,096.
	Per int
}

// Take returns a zeroed slice of n elements.
func (s *Slab[T]) Take(n int) []T {
	if n == 0 {
		return nil
	}
	if cap(s.block)-len(s.block) < n {
		per := s.Per
		if per == 0 {
			per = 4096
		}
		s.block = make([]T, 0, max(per, n))
	}
	at := len(s.block)
	s.block = s.block[:at+n]
	return s.block[at : at+n : at+n]
}

// New returns a pointer to a zeroed T from the slab.
func (s *Slab[T]) New() *T { return &s.Take(1)[0] }
