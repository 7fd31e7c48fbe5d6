package scim

import (
	"maps"
	"strings"
)

// EnterpriseSchema is the enterprise user extension (RFC 7643 §4.3).
const EnterpriseSchema = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

// reserved are attributes the provider writes itself, never from a
// template.
var reserved = []string{"id", "externalid", "meta", "schemas", "members", "groups", "active", "password"}

// supportedPath reports whether ldapply can read and write path.
func supportedPath(path string) bool {
	segs := split(path)
	if len(segs) == 0 || len(segs) > 2 || segs[0] == "" {
		return false
	}
	for _, r := range reserved {
		if strings.EqualFold(segs[0], r) {
			return false
		}
	}
	return !strings.ContainsAny(path, "[] ")
}

// split splits a path at dots, the enterprise URN prefix kept whole.
func split(path string) []string {
	if rest, ok := strings.CutPrefix(path, EnterpriseSchema+":"); ok {
		return append([]string{EnterpriseSchema}, strings.Split(rest, ".")...)
	}
	return strings.Split(path, ".")
}

// isWorkEmail reports whether path is emails.work.
func isWorkEmail(path string) bool { return strings.EqualFold(path, "emails.work") }

// Read returns the value of path in r as a string ("" when absent).
func (r Resource) Read(path string) string {
	if isWorkEmail(path) {
		l, _ := r.get("emails").([]any)
		for _, want := range []func(m map[string]any) bool{
			func(m map[string]any) bool { return m["type"] == "work" && m["primary"] == true },
			func(m map[string]any) bool { return m["type"] == "work" },
		} {
			for _, e := range l {
				if m, ok := e.(map[string]any); ok && want(m) {
					s, _ := m["value"].(string)
					return s
				}
			}
		}
		return ""
	}
	segs := split(path)
	var v any = map[string]any(r)
	for _, s := range segs {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = Resource(m).get(s)
	}
	switch x := v.(type) {
	case string:
		return x
	case map[string]any: // manager
		s, _ := x["value"].(string)
		return s
	}
	return ""
}

// Set writes path = v into r (a POST body, or a test's change by hand).
func (r Resource) Set(path, v string) {
	if isWorkEmail(path) {
		r["emails"] = []any{map[string]any{"value": v, "type": "work", "primary": true}}
		return
	}
	segs := split(path)
	if len(segs) == 1 {
		r[segs[0]] = v
		return
	}
	m, _ := r[segs[0]].(map[string]any)
	if m == nil {
		m = map[string]any{}
		r[segs[0]] = m
	}
	m[segs[1]] = v
}

// Unset removes path from r.
func (r Resource) Unset(path string) {
	if isWorkEmail(path) {
		delete(r, "emails")
		return
	}
	segs := split(path)
	if len(segs) == 1 {
		delete(r, segs[0])
		return
	}
	if m, ok := r[segs[0]].(map[string]any); ok {
		m = maps.Clone(m)
		delete(m, segs[1])
		r[segs[0]] = m
	}
}

// patchOp is the PATCH operation that sets path to v ("" removes it).
func patchOp(path, v string) Op {
	if isWorkEmail(path) {
		if v == "" {
			return Op{Op: "remove", Path: "emails"} // every address: ldapply manages the list as one work address
		}
		return Op{Op: "replace", Path: "emails", Value: []any{map[string]any{"value": v, "type": "work", "primary": true}}}
	}
	if v == "" {
		return Op{Op: "remove", Path: path}
	}
	return Op{Op: "replace", Path: path, Value: v}
}
