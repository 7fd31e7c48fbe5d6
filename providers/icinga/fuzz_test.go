package icinga

import (
	"bytes"
	"testing"
	"unicode/utf8"

	"github.com/ldapply/ldapply/plan"
)

// FuzzMapping runs user-written templates over hostile attribute values
// (invalid UTF-8, NULs, long values): it must never panic or hang, and
// the default mapping must pass any value through unchanged but trimmed.
func FuzzMapping(f *testing.F) {
	f.Add("{{ .uid }}", "alice")
	f.Add("{{ or .displayName .cn }}", "\xff\xfe\x00")
	f.Add("{{ printf \"%s-%s\" .uid .mail }}", "a,b+c=d\\,e")
	f.Add("{{ define \"a\" }}{{ template \"a\" }}{{ end }}{{ template \"a\" }}", "x")
	f.Add("{{ range .uid }}{{ . }}{{ end }}", "long")
	f.Fuzz(func(t *testing.T, text, value string) {
		e := &plan.Entry{DN: "uid=x,dc=example,dc=com", Attrs: map[string][]string{"uid": {value}, "cn": {value}, "mail": {value}}}
		var buf bytes.Buffer
		if tmpl, err := parseTemplate("fuzz", text); err == nil {
			tmpl.Execute(&buf, templateData(e)) // errors are fine; panics are not
		}
		def, _ := parseTemplate("username", "{{ .uid }}")
		got, err := execute(def, templateData(e), &buf)
		if err != nil {
			t.Fatalf("default mapping failed on %q: %v", value, err)
		}
		if utf8.ValidString(value) && got != string(bytes.TrimSpace([]byte(value))) {
			t.Fatalf("default mapping changed %q into %q", value, got)
		}
	})
}
