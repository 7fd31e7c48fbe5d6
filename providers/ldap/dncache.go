package ldap

import (
	"hash/maphash"
	"sync"

	"github.com/ldapply/ldapply/internal/arena"
	"github.com/ldapply/ldapply/plan"
)

// dnCache remembers normalised DNs: a user is a member of many groups,
// and parsing each member value again is most of a large read's work.
// Equal inputs also share one output string, and one number in the
// read's DN table (plan.DNs): the planner resolves each number once,
// however many groups hold it. It is safe for concurrent use: the users
// and groups searches share one.
//
// DNs of up to dnShortMax bytes, as most are, are kept in a table of its
// own rather than in a Go map. At 100,000 users and 2,000,000 member
// values the table no longer fits in the processor's caches, and a map
// lookup misses them three times, for the map's control word, its slot
// and the key's bytes, which lie wherever go-ldap put the user's entry:
// the lookups then grow faster than the directory. Here a slot is 8
// bytes (a tag of the hash and an index), and the key's bytes lie in one
// 64-byte line with the answer, so a lookup misses about twice. Longer
// DNs (Active Directory's often are) go to a map. A group's members are
// looked up together (normalizeAll), so that those misses overlap
// rather than each waiting for the one before.
type dnCache struct {
	mu     sync.Mutex
	seed   maphash.Seed
	slots  []uint64  // 0: empty; else the hash's upper 32 bits << 32 | index in short + 1
	short  []dnShort // keys of up to dnShortMax bytes, with their answers
	long   map[string]dnAnswer
	hashes []uint64 // normalizeAll's
	// table numbers the answers, which a group's members are (see
	// plan.DNs), and outs holds their strings: a user's NormDN, and
	// the table's entries, point into a few large blocks rather than
	// at 100,000 strings of their own, which the collector would look
	// up one by one.
	table *plan.DNTable
	outs  arena.Strings
	// touched keeps normalizeAll's reads from being optimised away.
	touched uint64
}

// dnShortMax is the longest key a dnShort holds: the rest of its 64 bytes
// are the answer and the key's length.
const dnShortMax = 43

type dnShort struct {
	out   string // the answer (a dnAnswer's fields, which as a struct
	outID uint32 // would be padded to 24 bytes)
	n     uint8  // the key's length
	key   [dnShortMax]byte
}

// dnAnswer is a normalised DN: its string, and its number in the
// cache's table.
type dnAnswer struct {
	s  string
	id uint32
}

func newDNCache() *dnCache {
	return &dnCache{seed: maphash.MakeSeed(), slots: make([]uint64, 1024), long: map[string]dnAnswer{}, table: &plan.DNTable{}}
}

// normalize returns dn's canonical form (see NormalizeDN).
func (c *dnCache) normalize(dn string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, err := c.normalizeLocked(dn)
	return a.s, err
}

// normalizeAll calls each with the canonical form of every one of dns
// in turn and its number in c.table, or the error, as normalize would. A
// group's member values lie all over the cache's table, which at
// 100,000 users is no longer in the processor's caches: rather than
// wait for each value's slot and entry in turn, it reads all the slots
// first, then all the entries, in loops short enough that the processor
// fetches many at once. each runs with the cache locked, and must not
// use it.
func (c *dnCache) normalizeAll(dns []string, each func(i int, n string, id uint32, err error)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	hashes := c.hashes[:0]
	mask := uint64(len(c.slots) - 1)
	var sum uint64
	for _, dn := range dns {
		h := maphash.String(c.seed, dn)
		hashes = append(hashes, h)
		sum += c.slots[h&mask]
	}
	for _, h := range hashes {
		if slot := c.slots[h&mask]; slot != 0 {
			sum += uint64(c.short[uint32(slot)-1].n)
		}
	}
	c.touched += sum
	c.hashes = hashes
	for i, dn := range dns {
		if a, ok := c.lookupHash(dn, hashes[i]); ok {
			each(i, a.s, a.id, nil)
			continue
		}
		a, err := c.normalizeLocked(dn)
		each(i, a.s, a.id, err)
	}
}

func (c *dnCache) normalizeLocked(dn string) (dnAnswer, error) {
	if a, ok := c.lookup(dn); ok {
		return a, nil
	}
	n, err := NormalizeDN(dn)
	if err != nil {
		return dnAnswer{}, err
	}
	a, ok := c.lookup(n)
	if !ok { // a new canonical string
		a.s = c.outs.Add(n)
		a.id = c.table.Add(a.s)
		c.store(n, a)
	}
	if n != dn {
		c.store(dn, a)
	}
	return a, nil
}

// lookup returns the answer stored for the key s.
func (c *dnCache) lookup(s string) (dnAnswer, bool) {
	return c.lookupHash(s, maphash.String(c.seed, s))
}

// lookupHash is lookup with the hash of s at hand (a long key's is not
// used).
func (c *dnCache) lookupHash(s string, h uint64) (dnAnswer, bool) {
	if len(s) > dnShortMax {
		a, ok := c.long[s]
		return a, ok
	}
	mask := uint64(len(c.slots) - 1)
	for j := h & mask; ; j = (j + 1) & mask {
		slot := c.slots[j]
		if slot == 0 {
			return dnAnswer{}, false
		}
		if slot>>32 != h>>32 {
			continue
		}
		if e := &c.short[uint32(slot)-1]; int(e.n) == len(s) && string(e.key[:e.n]) == s {
			return dnAnswer{e.out, e.outID}, true
		}
	}
}

// store adds the key s, which is not there yet, with the answer out.
func (c *dnCache) store(s string, out dnAnswer) {
	if len(s) > dnShortMax {
		c.long[s] = out
		return
	}
	e := dnShort{out: out.s, outID: out.id, n: uint8(len(s))}
	copy(e.key[:], s)
	c.short = append(c.short, e)
	if 2*len(c.short) > len(c.slots) { // at most half full
		c.slots = make([]uint64, 2*len(c.slots))
		for i := range c.short {
			c.place(i)
		}
		return
	}
	c.place(len(c.short) - 1)
}

// place puts short[i] in its slot.
func (c *dnCache) place(i int) {
	e := &c.short[i]
	h := maphash.Bytes(c.seed, e.key[:e.n])
	mask := uint64(len(c.slots) - 1)
	j := h & mask
	for c.slots[j] != 0 {
		j = (j + 1) & mask
	}
	c.slots[j] = h>>32<<32 | uint64(i+1)
}
