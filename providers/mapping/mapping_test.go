package mapping

import (
	"bytes"
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/ldapply/ldapply/plan"
)

func entry() *plan.Entry {
	return &plan.Entry{DN: "uid=alice,ou=people,dc=example,dc=com", Attrs: map[string][]string{
		"uid": {"alice"}, "cn": {"Alice Liddell"}, "mail": {"  alice@example.com "},
		// As the LDAP source stores it: the server's name and its lower case.
		"displayName": {"Alice L."}, "displayname": {"Alice L."},
		"employeeNumber": {"42"}, "sn": {}, "Title": {"Dr"},
	}}
}

func TestAttributes(t *testing.T) {
	for _, tc := range []struct {
		text  string
		attrs []string
		all   bool
	}{
		{"{{ .uid }}", []string{"uid"}, false},
		{"{{ or .displayName .cn }}", []string{"cn", "displayName"}, false},
		{`{{ printf "%s@%s" .uid (index . "mail") }}`, []string{"mail", "uid"}, false},
		{`{{ if .sn }}{{ .sn }}{{ else }}{{ $.givenName | printf "%s" }}{{ end }}`, []string{"givenName", "sn"}, false},
		{`{{ $u := .uid }}{{ $u }}-{{ .dn }}`, []string{"dn", "uid"}, false},
		{"static", nil, false},
		{"{{ . }}", nil, true},
		{`{{ printf "%v" $ }}`, nil, true},
		{"{{ range $k, $v := . }}{{ $k }}{{ end }}", nil, true},
		{"{{ with .mail }}{{ . }}{{ end }}", nil, true},
		{`{{ $d := . }}{{ $d.uid }}`, nil, true},
		{`{{ index . (print "m" "ail") }}`, nil, true},
		{`{{ define "x" }}{{ .uid }}{{ end }}{{ template "x" . }}`, nil, true},
	} {
		m, err := Parse("t", tc.text)
		if err != nil {
			t.Fatalf("%s: %v", tc.text, err)
		}
		attrs, all := m.Attributes()
		if all != tc.all || (!all && !slices.Equal(attrs, tc.attrs)) {
			t.Errorf("%s: Attributes() = %v, %v; want %v, %v", tc.text, attrs, all, tc.attrs, tc.all)
		}
	}
}

func TestAttributesTogether(t *testing.T) {
	a, _ := Parse("a", "{{ .uid }}")
	b, _ := Parse("b", "{{ or .displayName .cn }} ({{ .dn }})")
	if got := Attributes(a, b, nil); !slices.Equal(got, []string{"cn", "displayName", "uid"}) {
		t.Errorf("Attributes = %v; dn is not an attribute, the rest sorted", got)
	}
	all, _ := Parse("all", "{{ . }}")
	if got := Attributes(a, all); got != nil {
		t.Errorf("Attributes with a template reading anything = %v, want nil (every attribute)", got)
	}
	if got := Attributes(); got == nil || len(got) != 0 {
		t.Errorf("Attributes() = %#v, want an empty list: no template reads anything", got)
	}
}

// The fast path of simple templates must give what the template engine
// gives, including missing and empty attributes and case.
func TestSimpleMatchesEngine(t *testing.T) {
	e := entry()
	for _, text := range []string{
		"{{ .uid }}", " {{ .mail }}\n", "{{ .missing }}", "{{ .sn }}", "{{ .dn }}",
		"{{ or .displayName .cn }}", "{{ or .missing .sn .cn }}", "{{ or .missing .sn }}",
		"{{ .displayname }}", "{{ .DisplayName }}", "{{ .title }}", "{{ .Title }}",
	} {
		m, err := Parse("t", text)
		if err != nil {
			t.Fatal(err)
		}
		if m.or == nil {
			t.Errorf("%q should take the fast path", text)
		}
		var buf bytes.Buffer
		got, err := m.Execute(e, &buf)
		if err != nil {
			t.Fatal(err)
		}
		want, err := m.ExecuteData(Data(e), &buf)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%q: fast path %q, template engine %q", text, got, want)
		}
	}
	for _, text := range []string{"x{{ .uid }}", "{{ .uid }}{{ .cn }}", "{{ .uid | printf \"%s\" }}", "{{ or .uid }}", "{{ and .uid .cn }}", "{{ .a.b }}"} {
		if m, err := Parse("t", text); err == nil && m.or != nil {
			t.Errorf("%q must not take the fast path", text)
		}
	}
}

// FuzzMapping runs user-written templates over hostile attribute values
// (invalid UTF-8, NULs, long values): it must never panic or hang, the
// fast path must agree with the template engine, and the default
// mapping must pass any value through unchanged but trimmed.
func FuzzMapping(f *testing.F) {
	f.Add("{{ .uid }}", "alice")
	f.Add("{{ or .displayName .cn }}", "\xff\xfe\x00")
	f.Add("{{ printf \"%s-%s\" .uid .mail }}", "a,b+c=d\\,e")
	f.Add("{{ define \"a\" }}{{ template \"a\" }}{{ end }}{{ template \"a\" }}", "x")
	f.Add("{{ range .uid }}{{ . }}{{ end }}", "long")
	f.Fuzz(func(t *testing.T, text, value string) {
		e := &plan.Entry{DN: "uid=x,dc=example,dc=com", Attrs: map[string][]string{"uid": {value}, "cn": {value}, "mail": {value}, "Sn": {value}}}
		var buf bytes.Buffer
		if m, err := Parse("fuzz", text); err == nil {
			got, err1 := m.Execute(e, &buf) // errors are fine; panics are not
			want, err2 := m.ExecuteData(Data(e), &buf)
			if m.or != nil && (got != want || err1 != nil || err2 != nil) {
				t.Fatalf("%q: fast path %q (%v), template engine %q (%v)", text, got, err1, want, err2)
			}
		}
		def, _ := Parse("username", "{{ .uid }}")
		got, err := def.Execute(e, &buf)
		if err != nil {
			t.Fatalf("default mapping failed on %q: %v", value, err)
		}
		if utf8.ValidString(value) && got != string(bytes.TrimSpace([]byte(value))) {
			t.Fatalf("default mapping changed %q into %q", value, got)
		}
	})
}
