package plan_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ldapply/ldapply/plan"
)

func TestIndex(t *testing.T) {
	x := plan.NewIndex[int](0)
	long := "uid=alice,ou=people,dc=example,dc=com"
	prefix := long[:9] // "uid=alice": the same address, another length
	x.Set(long, 1)
	if v, ok := x.Get(long); !ok || v != 1 {
		t.Errorf("Get(the string Set was given) = %d, %t; want 1, true", v, ok)
	}
	copied := strings.Clone(long)
	if v, ok := x.Get(copied); !ok || v != 1 {
		t.Errorf("Get(an equal copy) = %d, %t; want 1, true", v, ok)
	}
	if v, ok := x.Get(prefix); ok {
		t.Errorf("Get(a prefix sharing the address) = %d, true; want none", v)
	}
	x.Set(prefix, 2)
	if v, ok := x.Get(prefix); !ok || v != 2 {
		t.Errorf("Get(prefix) after its Set = %d, %t; want 2, true", v, ok)
	}
	if v, ok := x.Get(long); !ok || v != 1 {
		t.Errorf("Get(long) after the prefix's Set = %d, %t; want 1, true", v, ok)
	}
	// Setting an equal copy replaces the value for every spelling.
	x.Set(copied, 3)
	for _, s := range []string{long, copied, strings.Clone(long)} {
		if v, ok := x.Get(s); !ok || v != 3 {
			t.Errorf("Get after Set of an equal copy = %d, %t; want 3, true", v, ok)
		}
	}
	if x.Len() != 2 {
		t.Errorf("Len = %d, want 2", x.Len())
	}
	if _, ok := x.Get("uid=bob,ou=people,dc=example,dc=com"); ok {
		t.Error("Get of a string never Set found a value")
	}
	var empty string
	x.Set(empty, 4)
	if v, ok := x.Get(strings.Clone("")); !ok || v != 4 {
		t.Errorf(`Get("") = %d, %t; want 4, true`, v, ok)
	}
}

// TestIndexAgreesWithMap drives an Index and a map with the same Sets
// of strings spelled at several addresses, and compares every Get.
func TestIndexAgreesWithMap(t *testing.T) {
	x := plan.NewIndex[int](0)
	m := map[string]int{}
	var spellings []string
	for i := range 300 {
		s := fmt.Sprintf("id-%d", i%97)
		if i%3 == 0 {
			s = s[:len(s)-1] // shares its address with nothing
		}
		spellings = append(spellings, s, strings.Clone(s))
		x.Set(s, i)
		m[s] = i
		for _, p := range spellings {
			got, ok := x.Get(p)
			want, wok := m[p]
			if got != want || ok != wok {
				t.Fatalf("after Set(%q, %d): Get(%q) = %d, %t; the map says %d, %t", s, i, p, got, ok, want, wok)
			}
		}
	}
	if x.Len() != len(m) {
		t.Errorf("Len = %d, the map has %d", x.Len(), len(m))
	}
}

// BenchmarkIndex looks up 2,000,000 member ids among 100,000, as a plan
// of make bench's size does, in a map and in an Index.
func BenchmarkIndex(b *testing.B) {
	for _, n := range []int{10000, 100000} {
		ids := make([]string, n)
		m := make(map[string]int32, n)
		x := plan.NewIndex[int32](n)
		for i := range ids {
			ids[i] = fmt.Sprintf("00000000-0000-5000-8000-%012d", i)
			m[ids[i]] = int32(i)
			x.Set(ids[i], int32(i))
		}
		members := make([]string, 2000000)
		for i := range members {
			members[i] = ids[(i*7919)%n]
		}
		b.Run(fmt.Sprintf("map-%d", n), func(b *testing.B) {
			for b.Loop() {
				var sum int32
				for _, id := range members {
					sum += m[id]
				}
			}
		})
		b.Run(fmt.Sprintf("index-%d", n), func(b *testing.B) {
			for b.Loop() {
				var sum int32
				for _, id := range members {
					v, _ := x.Get(id)
					sum += v
				}
			}
		})
	}
}
