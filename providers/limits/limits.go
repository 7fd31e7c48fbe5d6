// Package limits lets a target declare what it can store, so that a plan
// leaves out an object the target would refuse instead of failing at
// apply.
//
// # Basics
//
// Each target keeps one [Table]: a [Field] for every field of an object
// kind that has a limit the target enforces, with the source that shows
// the limit. A provider checks the values of each desired object with
// [Table.Check] while it drafts the plan; an object that does not fit is
// left out with a warning ([Violation.Warning]) naming the object, the
// field and the limit.
//
// # Caveats
//
// Lengths are counted in characters (Unicode code points), as
// PostgreSQL's char_length and Python's len count them, not in bytes. A
// Field declares only limits the target enforces: a limit that a UI
// form checks but the API stores past belongs in the documentation, not
// in a table.
package limits

import (
	"fmt"
	"regexp"
	"unicode"
	"unicode/utf8"

	"github.com/ldapply/ldapply/plan"
)

// Field is the limit a target puts on one field of one object kind.
type Field struct {
	// Kind and Name say which field: the object kind and the target's
	// name of the field ("username").
	Kind plan.Kind
	Name string
	// MaxLen is the most characters (runes) a value may have; 0 means no
	// limit.
	MaxLen int
	// Pattern, if set, must match the whole value; Rule says in words
	// what it asks, for the warning.
	Pattern *regexp.Regexp
	Rule    string
	// Char, if set, reports whether Pattern allows r anywhere in a
	// value: a value that fails Pattern is then explained by its first
	// character Char refuses, when it has one.
	Char func(r rune) bool
	// Source cites where the target enforces the limit.
	Source string
}

// Check reports whether v fits f and, when it does not, why: one phrase
// that names the field, the value's length or its offending character,
// and the limit.
func (f *Field) Check(v string) (reason string, ok bool) {
	if f.MaxLen > 0 {
		if n := utf8.RuneCountInString(v); n > f.MaxLen {
			return fmt.Sprintf("its %s is %d characters long, and the most is %d", f.Name, n, f.MaxLen), false
		}
	}
	if f.Pattern == nil || f.Pattern.MatchString(v) {
		return "", true
	}
	if f.Char != nil {
		i := 0
		for _, r := range v {
			i++
			if !f.Char(r) {
				return fmt.Sprintf("its %s %s has %s at character %d, and %s", f.Name, quote(v), describe(r), i, f.Rule), false
			}
		}
	}
	return fmt.Sprintf("its %s %s breaks the rule: %s", f.Name, quote(v), f.Rule), false
}

// Table is one target's limits. A kind and field name appear at most
// once.
type Table []Field

// Violation is a value that does not fit its field.
type Violation struct {
	Field  *Field
	Reason string // from Field.Check
}

// Check checks the values of an object of kind k (field name -> value;
// a field missing from values is not checked) and returns the first
// violation, in the table's order.
func (t Table) Check(k plan.Kind, values map[string]string) (Violation, bool) {
	for i := range t {
		f := &t[i]
		if f.Kind != k {
			continue
		}
		v, set := values[f.Name]
		if !set {
			continue
		}
		if reason, ok := f.Check(v); !ok {
			return Violation{Field: f, Reason: reason}, false
		}
	}
	return Violation{}, true
}

// Field returns the limit on field name of kind k, or nil.
func (t Table) Field(k plan.Kind, name string) *Field {
	for i := range t {
		if t[i].Kind == k && t[i].Name == name {
			return &t[i]
		}
	}
	return nil
}

// Warning is the plan warning for the source entry dn that v keeps out
// of target (a name such as "Icinga"). held says the object is already
// managed: it is then left as it is, not deleted.
func (v Violation) Warning(k plan.Kind, dn, target string, held bool) string {
	if held {
		return fmt.Sprintf("%s %s is left as it is in %s, not updated and not deleted: %s cannot store it, because %s; fix the entry or the mapping, and the next plan updates it", k, dn, target, target, v.Reason)
	}
	w := fmt.Sprintf("%s %s is left out of the plan: %s cannot store it, because %s", k, dn, target, v.Reason)
	if k == plan.KindUser {
		w += "; the groups that hold it are planned without it"
	}
	return w
}

// Without returns bs without the bindings of the keys in held, by kind,
// for a plan that must leave those objects as they are: a target takes
// them for objects it does not manage, so they are neither updated nor
// deleted. bs itself is not changed, and the state keeps the bindings
// (as with [plan.Directory.HoldReferred]).
func Without(bs plan.Bindings, held map[plan.Kind][]string) plan.Bindings {
	if len(held) == 0 {
		return bs
	}
	out := make(plan.Bindings, len(bs))
	for k, m := range bs {
		keys := held[k]
		if len(keys) == 0 {
			out[k] = m
			continue
		}
		kept := make(map[string]plan.Binding, len(m))
		for key, b := range m {
			kept[key] = b
		}
		for _, key := range keys {
			delete(kept, key)
		}
		out[k] = kept
	}
	return out
}

// quote quotes v for a warning, shortened to its first 40 characters.
func quote(v string) string {
	const most = 40
	if utf8.RuneCountInString(v) <= most {
		return fmt.Sprintf("%q", v)
	}
	i, n := 0, 0
	for i = range v {
		if n == most {
			break
		}
		n++
	}
	return fmt.Sprintf("%q…", v[:i])
}

// describe names a character for a warning: "'@' (U+0040)", or only
// its code point when it does not print.
func describe(r rune) string {
	switch {
	case r == ' ':
		return "a space (U+0020)"
	case r != utf8.RuneError && unicode.IsPrint(r):
		return fmt.Sprintf("%q (%U)", r, r)
	}
	return fmt.Sprintf("the character %U", r)
}
