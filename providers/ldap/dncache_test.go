package ldap

import (
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"unsafe"
)

// TestDNCache checks the cache against NormalizeDN itself: users are
// normalised on one goroutine while group members are on another (a
// group's at a time, by normalizeAll), in
// many spellings (case, spaces, long type names), short and longer than
// the table's keys, with values that are not DNs, and through enough
// keys that the table grows several times. Every answer must be
// NormalizeDN's, and every answer for one normal form the same string.
func TestDNCache(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	const users = 3000
	base := func(u int) string {
		if u%3 == 0 { // longer than dnShortMax: the map's side
			return fmt.Sprintf("uid=user%d,ou=people,ou=berlin,dc=example,dc=com", u)
		}
		return fmt.Sprintf("uid=user%d,ou=people,dc=example,dc=com", u)
	}
	spell := func(u int) string {
		dn := base(u)
		switch r.IntN(6) {
		case 0:
			return strings.ToUpper(dn)
		case 1:
			return strings.ReplaceAll(dn, ",", ", ")
		case 2:
			return "userid" + strings.TrimPrefix(dn, "uid")
		case 3:
			if u%50 == 0 {
				return dn + `\` // not a DN
			}
		}
		return dn
	}
	var userDNs []string
	for u := range users {
		userDNs = append(userDNs, base(u))
	}
	var members []string
	for range 30000 {
		members = append(members, spell(r.IntN(users+100))) // some are no user
	}

	c := newDNCache()
	gotUsers := make([]string, len(userDNs))
	got := make([]string, len(members))
	errs := make([]error, len(members))
	var wg sync.WaitGroup
	wg.Go(func() {
		for i, dn := range userDNs {
			gotUsers[i], _ = c.normalize(dn)
		}
	})
	wg.Go(func() { // as groups' members are: normalizeAll, up to 1,200 at a time
		for first := 0; first < len(members); {
			end := min(first+1+r.IntN(1200), len(members))
			c.normalizeAll(members[first:end], func(i int, n string, id uint32, err error) {
				got[first+i], errs[first+i] = n, err
				if err == nil && c.table.At(id) != n {
					t.Errorf("%q: number %d is %q in the table, not %q", members[first+i], id, c.table.At(id), n)
				}
			})
			first = end
		}
	})
	wg.Wait()

	shared := map[string]*byte{} // normal form -> its one string's bytes
	check := func(in, n string, err error) {
		t.Helper()
		want, werr := NormalizeDN(in)
		if (err != nil) != (werr != nil) || n != want {
			t.Fatalf("%q: got %q, %v; NormalizeDN says %q, %v", in, n, err, want, werr)
		}
		if err != nil {
			return
		}
		if p, ok := shared[n]; !ok {
			shared[n] = unsafe.StringData(n)
		} else if p != unsafe.StringData(n) {
			t.Fatalf("%q: %q is a string of its own, not the one the cache gave before", in, n)
		}
	}
	for i, dn := range userDNs {
		check(dn, gotUsers[i], nil)
	}
	for i, v := range members {
		check(v, got[i], errs[i])
	}
	if len(c.slots) < 2*len(c.short) || len(c.slots) <= 1024 || len(c.long) == 0 {
		t.Errorf("%d short keys in %d slots, %d long keys: the table should have grown past 1,024 slots, be at most half full, and the long DNs be in the map", len(c.short), len(c.slots), len(c.long))
	}
	// A repeat is an answer from the cache, not a new key.
	short, long := len(c.short), len(c.long)
	for _, v := range members[:1000] {
		c.normalize(strings.Clone(v))
	}
	if len(c.short) != short || len(c.long) != long {
		t.Errorf("repeats added %d short and %d long keys", len(c.short)-short, len(c.long)-long)
	}
}

// TestDNShortIsOneLine: a short key and its answer fill one 64-byte
// cache line, no more.
func TestDNShortIsOneLine(t *testing.T) {
	if n := unsafe.Sizeof(dnShort{}); n != 64 {
		t.Errorf("a dnShort is %d bytes, not 64", n)
	}
}

// TestDNCacheTagCollision: a key whose hash tag matches another's is
// told apart by its bytes.
func TestDNCacheTagCollision(t *testing.T) {
	c := newDNCache()
	c.store("uid=a,dc=example", dnAnswer{"uid=a,dc=example", c.table.Add("uid=a,dc=example")})
	for j, slot := range c.slots {
		if slot != 0 { // give uid=b's hash to uid=a's slot: same tag, same place
			b := "uid=b,dc=example"
			h := maphash.String(c.seed, b)
			c.slots[j] = 0
			c.slots[h&uint64(len(c.slots)-1)] = h>>32<<32 | slot&0xffffffff
		}
	}
	if a, ok := c.lookup("uid=b,dc=example"); ok {
		t.Errorf("uid=b,dc=example found as %q: the bytes were not compared", a.s)
	}
}

// BenchmarkDNCache looks up 20 member values a user, as make bench's
// groups hold, among 10,000 and 100,000 users whose entries lie between
// other allocations, as go-ldap's do.
func BenchmarkDNCache(b *testing.B) {
	for _, users := range []int{10000, 100000} {
		c := newDNCache()
		var junk [][]byte
		for u := range users {
			c.normalize(fmt.Sprintf("uid=user%06d,ou=people,dc=example,dc=com", u))
			junk = append(junk, make([]byte, 2000))
		}
		r := rand.New(rand.NewPCG(1, 2))
		values := make([]string, 20*users)
		for i := range values {
			values[i] = fmt.Sprintf("uid=user%06d,ou=people,dc=example,dc=com", r.IntN(users))
		}
		b.Run(fmt.Sprint(users), func(b *testing.B) {
			for b.Loop() {
				for _, v := range values {
					c.normalize(v)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(values)), "ns/value")
		})
		// As the source looks up a group's members: 1,000 at a time.
		b.Run(fmt.Sprint(users, "-groups"), func(b *testing.B) {
			for b.Loop() {
				for g := 0; g < len(values); g += 1000 {
					c.normalizeAll(values[g:min(g+1000, len(values))], func(int, string, uint32, error) {})
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(values)), "ns/value")
		})
		junk = nil
	}
}
