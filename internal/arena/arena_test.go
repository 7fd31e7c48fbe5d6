package arena_test

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unsafe"

	"github.com/ldapply/ldapply/internal/arena"
)

// TestStrings adds strings of many lengths, some longer than a block,
// through several blocks: every copy must still read as its original at
// the end, copies made one after another must share a block (what spares
// the collector), and no copy may share the original's bytes.
func TestStrings(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var a arena.Strings
	var orig, held []string
	total := 0
	for total < 3<<20 {
		n := r.IntN(80)
		if r.IntN(500) == 0 {
			n = 300 << 10 // longer than a block
		}
		s := strings.Repeat(string(rune('a'+r.IntN(26))), n) + string(rune('A'+r.IntN(26)))
		total += len(s)
		orig = append(orig, s)
		held = append(held, a.Add(s))
	}
	shared := 0
	for i, h := range held {
		if h != orig[i] {
			t.Fatalf("copy %d reads %.20q…, want %.20q…", i, h, orig[i])
		}
		if unsafe.StringData(h) == unsafe.StringData(orig[i]) {
			t.Fatalf("copy %d is the original, not a copy", i)
		}
		if i > 0 && addr(h) == addr(held[i-1])+uintptr(len(held[i-1])) {
			shared++
		}
	}
	if shared < len(held)*9/10 {
		t.Errorf("%d of %d copies follow the one before in its block; want nearly all", shared, len(held))
	}
	if a.Add("") != "" {
		t.Error(`Add("") is not ""`)
	}
}

// addr is where s's bytes are, as a number (checkptr, on with -race,
// refuses a pointer one past an allocation's end).
func addr(s string) uintptr { return uintptr(unsafe.Pointer(unsafe.StringData(s))) }

// TestSlab checks that slices come zeroed, at their length, from shared
// blocks, and that an append to one never writes into the next.
func TestSlab(t *testing.T) {
	s := arena.Slab[string]{Per: 64}
	var got [][]string
	for n := range 40 {
		l := s.Take(n % 9)
		if len(l) != n%9 || cap(l) != n%9 {
			t.Fatalf("Take(%d): len %d, cap %d", n%9, len(l), cap(l))
		}
		for i := range l {
			if l[i] != "" {
				t.Fatalf("Take(%d)[%d] = %q, not zeroed", n%9, i, l[i])
			}
			l[i] = strings.Repeat("x", n)
		}
		got = append(got, l)
	}
	for n, l := range got {
		_ = append(l, "appended")
		if n+1 < len(got) {
			for i, v := range got[n+1] {
				if v != strings.Repeat("x", n+1) {
					t.Fatalf("slice %d [%d] = %q after an append to slice %d", n+1, i, v, n)
				}
			}
		}
	}
	big := s.Take(100) // more than a block: a block of its own
	if len(big) != 100 {
		t.Errorf("Take(100) has %d elements", len(big))
	}
	p, q := s.New(), s.New()
	if uintptr(unsafe.Pointer(q)) != uintptr(unsafe.Pointer(p))+unsafe.Sizeof("") {
		t.Error("two New calls in a row do not share a block")
	}
}
