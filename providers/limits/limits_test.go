package limits_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/providers/limits"
)

var testTable = limits.Table{
	{Kind: plan.KindUser, Name: "username", MaxLen: 5},
	{
		Kind: plan.KindUser, Name: "login", Pattern: regexp.MustCompile(`^[a-z]+$`), Rule: "only a to z",
		Char: func(r rune) bool { return r >= 'a' && r <= 'z' },
	},
	{Kind: plan.KindGroup, Name: "name", Pattern: regexp.MustCompile(`^[a-z]+$`), Rule: "only a to z"},
}

func TestFieldCheck(t *testing.T) {
	for _, tc := range []struct {
		name  string
		field int // in testTable
		value string
		want  []string // in the reason, in order; nil: fits
	}{
		{"at the limit", 0, "abcde", nil},
		{"characters, not bytes", 0, "äöüßé", nil},
		{"one over", 0, "abcdef", []string{"its username", "6 characters long", "the most is 5"}},
		{"multibyte over", 0, "ääääää", []string{"6 characters long"}},
		{"empty fits a length", 0, "", nil},
		{"pattern fits", 1, "jane", nil},
		{"offending character", 1, "ja@ne", []string{`its login "ja@ne"`, `'@' (U+0040) at character 3`, "only a to z"}},
		{"a space", 1, "ja ne", []string{"a space (U+0020) at character 3"}},
		{"control character", 1, "ja\tne", []string{"the character U+0009 at character 3"}},
		{"multibyte position", 1, "äx", []string{"'ä' (U+00E4) at character 1"}},
		{"no offending character", 1, "", []string{`its login "" breaks the rule: only a to z`}},
		{"pattern without Char", 2, "a-b", []string{`its name "a-b" breaks the rule: only a to z`}},
		{"long value is shortened", 1, strings.Repeat("x", 50) + "!", []string{`"` + strings.Repeat("x", 40) + `"…`, "at character 51"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reason, ok := testTable[tc.field].Check(tc.value)
			if tc.want == nil {
				if !ok || reason != "" {
					t.Fatalf("Check(%q) = %q, %v; want it to fit", tc.value, reason, ok)
				}
				return
			}
			if ok {
				t.Fatalf("Check(%q) fits; want a violation", tc.value)
			}
			rest := reason
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("reason %q lacks %q (or has it out of order)", reason, w)
				}
				rest = rest[i+len(w):]
			}
		})
	}
}

func TestTableCheck(t *testing.T) {
	if _, ok := testTable.Check(plan.KindUser, map[string]string{"username": "abc", "login": "abc", "other": "!!!"}); !ok {
		t.Error("fitting values and a field without a limit are refused")
	}
	// A field the table names but values lacks is not checked.
	if _, ok := testTable.Check(plan.KindUser, map[string]string{"login": "abc"}); !ok {
		t.Error("a missing field is checked")
	}
	// The kind matters: groups have no username limit.
	if _, ok := testTable.Check(plan.KindGroup, map[string]string{"username": "abcdefgh", "name": "ops"}); !ok {
		t.Error("a user limit was applied to a group")
	}
	// The first violation in the table's order is reported.
	v, ok := testTable.Check(plan.KindUser, map[string]string{"username": "abcdefgh", "login": "A"})
	if ok || v.Field != testTable.Field(plan.KindUser, "username") || !strings.Contains(v.Reason, "8 characters") {
		t.Errorf("Check = %+v, %v; want the username's length", v, ok)
	}
	if testTable.Field(plan.KindGroup, "login") != nil {
		t.Error("Field found a field of another kind")
	}
}

func TestViolationWarning(t *testing.T) {
	v := limits.Violation{Reason: "its username is 255 characters long, and the most is 254"}
	dn := "uid=x,ou=people,dc=example,dc=com"
	w := v.Warning(plan.KindUser, dn, "Icinga", false)
	for _, want := range []string{"user " + dn + " is left out of the plan", "Icinga cannot store it", v.Reason, "groups that hold it are planned without it"} {
		if !strings.Contains(w, want) {
			t.Errorf("warning %q lacks %q", w, want)
		}
	}
	if w := v.Warning(plan.KindGroup, "cn=g", "UCS", false); strings.Contains(w, "groups that hold it") {
		t.Errorf("a group's warning speaks of its groups: %q", w)
	}
	held := v.Warning(plan.KindUser, dn, "Icinga", true)
	for _, want := range []string{"left as it is in Icinga", "not deleted", v.Reason} {
		if !strings.Contains(held, want) {
			t.Errorf("held warning %q lacks %q", held, want)
		}
	}
}

func TestWithout(t *testing.T) {
	bs := plan.Bindings{}
	bs.Add(plan.Binding{Kind: plan.KindUser, Key: "k1", ID: "i1"})
	bs.Add(plan.Binding{Kind: plan.KindUser, Key: "k2", ID: "i2"})
	bs.Add(plan.Binding{Kind: plan.KindGroup, Key: "g1", ID: "j1"})
	if got := limits.Without(bs, nil); len(got[plan.KindUser]) != 2 {
		t.Errorf("Without(nil) dropped bindings: %v", got)
	}
	got := limits.Without(bs, map[plan.Kind][]string{plan.KindUser: {"k1"}})
	if _, ok := got[plan.KindUser]["k1"]; ok || len(got[plan.KindUser]) != 1 || len(got[plan.KindGroup]) != 1 {
		t.Errorf("Without = %v; want k1 gone, k2 and g1 kept", got)
	}
	if _, ok := bs[plan.KindUser]["k1"]; !ok {
		t.Error("Without changed its argument")
	}
}
