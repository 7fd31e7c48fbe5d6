package ldap

import (
	"testing"

	goldap "github.com/go-ldap/ldap/v3"
)

func TestFindRanged(t *testing.T) {
	for name, tc := range map[string]struct {
		attrs       []string
		idx, lo, hi int
	}{
		"first part":      {[]string{"cn", "member;range=0-1499"}, 1, 0, 1499},
		"last part":       {[]string{"Member;Range=1500-*"}, 0, 1500, -1},
		"plain only":      {[]string{"cn", "member"}, -1, 0, 0},
		"other attribute": {[]string{"memberOf;range=0-9"}, -1, 0, 0},
		"not a range":     {[]string{"member;binary"}, -1, 0, 0},
	} {
		t.Run(name, func(t *testing.T) {
			e := &goldap.Entry{DN: "cn=g"}
			for _, a := range tc.attrs {
				e.Attributes = append(e.Attributes, &goldap.EntryAttribute{Name: a})
			}
			idx, lo, hi := findRanged(e, "member")
			if idx != tc.idx || (idx >= 0 && (lo != tc.lo || hi != tc.hi)) {
				t.Errorf("findRanged = %d, %d, %d; want %d, %d, %d", idx, lo, hi, tc.idx, tc.lo, tc.hi)
			}
		})
	}
}
