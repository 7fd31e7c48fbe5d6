package planfile

import (
	"cmp"
	"encoding/binary"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ldapply/ldapply/plan"
)

// This file encodes plan file lines without reflection: a plan of
// 100,000 creates holds millions of values, and encoding/json walks
// every value through reflect and sorts each map's keys as reflect
// values, for every line. The lines are what encoding/json's Encoder
// writes with HTML escaping off, byte for byte:
// TestFileLinesMatchEncodingJSON holds them to it.

// appendFileChange appends fc as one JSON object.
func appendFileChange(b []byte, fc *fileChange) []byte {
	b = append(b, `{"action":`...)
	b = appendText(b, fc.Action.String())
	b = append(b, `,"kind":`...)
	b = appendText(b, string(fc.Kind))
	b = append(b, `,"key":`...)
	b = appendText(b, fc.Key)
	b = append(b, `,"id":`...)
	b = appendText(b, fc.ID)
	if fc.Before != nil {
		b = appendFileObject(append(b, `,"before":`...), fc.Before)
	}
	if fc.After != nil {
		b = appendFileObject(append(b, `,"after":`...), fc.After)
	}
	return append(b, '}')
}

// appendFileObject appends o: the fields of its Object, then ListRefs.
func appendFileObject(b []byte, o *fileObject) []byte {
	b = append(b, `{"kind":`...)
	b = appendText(b, string(o.Kind))
	if o.Key != "" {
		b = appendText(append(b, `,"key":`...), o.Key)
	}
	b = appendText(append(b, `,"id":`...), o.ID)
	b = appendText(append(b, `,"name":`...), o.Name)
	if len(o.Attrs) > 0 {
		b = appendStringMap(append(b, `,"attrs":`...), o.Attrs)
	}
	if len(o.Lists) > 0 {
		b = append(b, `,"lists":`...)
		var buf [8]string
		for i, name := range sortedKeys(o.Lists, buf[:]) {
			b = appendText(append(b, "{,"[min(i, 1)]), name)
			b = appendTextList(append(b, ':'), o.Lists[name])
		}
		b = append(b, '}')
	}
	if len(o.Sensitive) > 0 {
		b = appendTextList(append(b, `,"sensitive":`...), o.Sensitive)
	}
	if o.Version != "" {
		b = appendText(append(b, `,"version":`...), o.Version)
	}
	if len(o.ListRefs) > 0 {
		b = append(b, `,"list_refs":`...)
		var buf [8]string
		for i, name := range sortedKeys(o.ListRefs, buf[:]) {
			b = appendText(append(b, "{,"[min(i, 1)]), name)
			r := o.ListRefs[name]
			if r == nil {
				b = append(b, ":null"...)
				continue
			}
			b = append(b, `:{"refs":`...)
			if r.Refs == nil {
				b = append(b, "null"...)
			} else {
				b = append(b, '[')
				for j, n := range r.Refs {
					if j > 0 {
						b = append(b, ',')
					}
					b = strconv.AppendInt(b, int64(n), 10)
				}
				b = append(b, ']')
			}
			if len(r.Others) > 0 {
				b = appendTextList(append(b, `,"others":`...), r.Others)
			}
			b = append(b, '}')
		}
		b = append(b, '}')
	}
	if len(o.ListDiffs) > 0 {
		b = append(b, `,"list_diffs":`...)
		var buf [8]string
		for i, name := range sortedKeys(o.ListDiffs, buf[:]) {
			b = appendText(append(b, "{,"[min(i, 1)]), name)
			d := o.ListDiffs[name]
			if d == nil {
				b = append(b, ":null"...)
				continue
			}
			b = append(b, ":{"...)
			if len(d.Added) > 0 {
				b = appendTextList(append(b, `"added":`...), d.Added)
			}
			if len(d.Removed) > 0 {
				if len(d.Added) > 0 {
					b = append(b, ',')
				}
				b = appendTextList(append(b, `"removed":`...), d.Removed)
			}
			b = append(b, '}')
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

// appendRefs appends r as the header holds it (see fileRefs), each
// object's keys sorted.
func appendRefs(b []byte, r *plan.Refs) []byte {
	b = append(b, '{')
	if len(r.Attrs) > 0 {
		b = append(b, `"attrs":[`...)
		for i, a := range r.Attrs {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendText(b, a)
		}
		b = append(b, ']')
		if len(r.Names) > 0 || len(r.Via) > 0 {
			b = append(b, ',')
		}
	}
	if len(r.Names) > 0 {
		b = appendStringMap(append(b, `"names":`...), r.Names)
	}
	if len(r.Via) == 0 {
		return append(b, '}')
	}
	if len(r.Names) > 0 {
		b = append(b, ',')
	}
	type entry struct {
		plan.Via
		group string
	}
	via := make([]entry, 0, len(r.Via))
	for v, g := range r.Via {
		via = append(via, entry{v, g})
	}
	slices.SortFunc(via, func(x, y entry) int {
		if c := strings.Compare(x.Owner, y.Owner); c != 0 {
			return c
		}
		return strings.Compare(x.Member, y.Member)
	})
	b = append(b, `"via":{`...)
	for i, v := range via {
		switch {
		case i == 0:
			b = appendText(b, v.Owner)
			b = append(b, ":{"...)
		case v.Owner != via[i-1].Owner:
			b = appendText(append(b, "},"...), v.Owner)
			b = append(b, ":{"...)
		default:
			b = append(b, ',')
		}
		b = appendText(b, v.Member)
		b = appendText(append(b, ':'), v.group)
	}
	return append(b, "}}}"...)
}

// sortedKeys returns m's keys sorted, in buf when they fit (a user's
// handful of attributes: 100,000 of them in a large plan).
func sortedKeys[V any](m map[string]V, buf []string) []string {
	keys := buf[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// appendLargeStringMap is appendStringMap for a large map (a plan's
// refs: 300,000 for 100,000 creates): each entry is read from the map
// once, the keys are sorted by their first 8 bytes before their text,
// and the strings are fetched all at once ahead of the copy.
func appendLargeStringMap(b []byte, m map[string]string) []byte {
	if len(m) == 0 {
		return append(b, "{}"...)
	}
	type entry struct {
		prefix uint64 // the key's first 8 bytes, big-endian
		k, v   string
	}
	entries := make([]entry, 0, len(m))
	size := 1
	for k, v := range m {
		var p [8]byte
		copy(p[:], k)
		entries = append(entries, entry{binary.BigEndian.Uint64(p[:]), k, v})
		size += len(k) + len(v) + 6
	}
	slices.SortFunc(entries, func(a, b entry) int {
		if c := cmp.Compare(a.prefix, b.prefix); c != 0 {
			return c
		}
		return strings.Compare(a.k, b.k)
	})
	for _, e := range entries {
		if len(e.v) > 0 && !plainText[e.v[0]] {
			size += 5 // room to escape it; reading it fetches the values at once
		}
	}
	b = slices.Grow(b, size)
	for i, e := range entries {
		b = appendText(append(b, "{,"[min(i, 1)]), e.k)
		b = appendText(append(b, ':'), e.v)
	}
	return append(b, '}')
}

// appendStringMap appends m with its keys sorted, as encoding/json does.
func appendStringMap(b []byte, m map[string]string) []byte {
	if len(m) > 64 {
		return appendLargeStringMap(b, m)
	}
	if len(m) == 0 {
		return append(b, "{}"...)
	}
	var buf [8]string
	for i, k := range sortedKeys(m, buf[:]) {
		b = appendText(append(b, "{,"[min(i, 1)]), k)
		b = appendText(append(b, ':'), m[k])
	}
	return append(b, '}')
}

// appendTextList appends list: null when nil, as encoding/json does.
func appendTextList(b []byte, list []string) []byte {
	if list == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendText(b, s)
	}
	return append(b, ']')
}

// appendText appends s as encoding/json's Encoder writes it with
// SetEscapeHTML(false), as plan file lines hold it.
// Most strings need no escaping: they are copied, and the copy is
// checked (s is read from memory once, and a member id's bytes are
// rarely in the cache).
func appendText(b []byte, s string) []byte {
	at := len(b)
	b = append(append(b, '"'), s...)
	for _, c := range b[at+1:] {
		if !plainText[c] {
			return appendEscaped(b[:at], s)
		}
	}
	return append(b, '"')
}

// plainText holds the bytes encoding/json copies into a string as they
// are: printable ASCII but for the quote and the backslash.
var plainText = func() (text [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		text[c] = c != '"' && c != '\\'
	}
	return text
}()

// appendEscaped appends s quoted, escaping as encoding/json's Encoder
// does with SetEscapeHTML(false).
func appendEscaped(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, `\b`...)
			case '\f':
				b = append(b, `\f`...)
			case '\n':
				b = append(b, `\n`...)
			case '\r':
				b = append(b, `\r`...)
			case '\t':
				b = append(b, `\t`...)
			default:
				b = append(b, `\u00`...)
				b = append(b, hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(append(b, s[start:i]...), `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(append(b, s[start:i]...), `\u202`...)
			b = append(b, hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(append(b, s[start:]...), '"')
}

const hexDigits = "0123456789abcdef"
