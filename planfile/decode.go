package planfile

import (
	"bytes"
	"fmt"
	"strconv"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/ldapply/ldapply/plan"
)

// lineOptions decode a line with encoding/json/v2, as leniently as
// encoding/json: duplicate names and invalid UTF-8 are accepted.
var lineOptions = jsonv2.JoinOptions(jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true), stringMaps(0))

// stringMaps unmarshal every map[string]string as encoding/json/v2 does
// (a null value is ""), without reflection, into a map made with room
// for hint entries, or for 8. A user's attrs are such maps, 100,000 in a
// large plan.
func stringMaps(hint int) jsonv2.Options {
	return jsonv2.WithUnmarshalers(jsonv2.UnmarshalFromFunc(func(dec *jsontext.Decoder, m *map[string]string) error {
		return readStringMap(dec, m, hint)
	}))
}

// readStringMap reads an object of strings, or null, into *m, which is
// made with room for hint entries (at least 8) when it is nil.
func readStringMap(dec *jsontext.Decoder, m *map[string]string, hint int) error {
	tok, err := dec.ReadToken()
	switch {
	case err != nil:
		return err
	case tok.Kind() == 'n':
		*m = nil
		return nil
	case tok.Kind() != '{':
		return fmt.Errorf("%v where an object of strings belongs", tok.Kind())
	}
	if *m == nil {
		*m = make(map[string]string, max(hint, 8))
	}
	for dec.PeekKind() != '}' {
		k, err := dec.ReadToken()
		if err != nil {
			return err
		}
		name := k.String()
		v, err := dec.ReadToken()
		switch {
		case err != nil:
			return err
		case v.Kind() == 'n':
			(*m)[name] = ""
		case v.Kind() == '"':
			(*m)[name] = v.String()
		default:
			return fmt.Errorf("%v where a string belongs, in %q", v.Kind(), name)
		}
	}
	_, err = dec.ReadToken()
	return err
}

// fileRefs are a plan's refs as its header holds them:
//
//	{"names":{id:name,…},"via":{owner:{member:group,…},…}}
type fileRefs plan.Refs

// refsOptions unmarshal the header's refs, whose names and via entries
// are about hint in all: 300,000 in a plan of 100,000 creates, which
// maps that grow as they are filled would copy again and again.
func refsOptions(hint int) jsonv2.Options {
	return jsonv2.WithUnmarshalers(jsonv2.UnmarshalFromFunc(func(dec *jsontext.Decoder, r *fileRefs) error {
		tok, err := dec.ReadToken()
		switch {
		case err != nil:
			return err
		case tok.Kind() == 'n':
			*r = fileRefs{}
			return nil
		case tok.Kind() != '{':
			return fmt.Errorf("refs is %v, not an object", tok.Kind())
		}
		for dec.PeekKind() != '}' {
			k, err := dec.ReadToken()
			if err != nil {
				return err
			}
			switch k.String() {
			case "names":
				err = readStringMap(dec, &r.Names, hint)
			case "via":
				err = readVia(dec, &r.Via, hint-len(r.Names))
			case "attrs":
				err = jsonv2.UnmarshalDecode(dec, &r.Attrs)
			default:
				err = dec.SkipValue()
			}
			if err != nil {
				return fmt.Errorf("refs: %w", err)
			}
		}
		_, err = dec.ReadToken()
		return err
	}))
}

// readVia reads the via refs, an object of owners' objects of strings,
// into *via, which is made with room for hint entries when it is nil.
func readVia(dec *jsontext.Decoder, via *map[plan.Via]string, hint int) error {
	tok, err := dec.ReadToken()
	switch {
	case err != nil:
		return err
	case tok.Kind() == 'n':
		return nil
	case tok.Kind() != '{':
		return fmt.Errorf("via is %v, not an object", tok.Kind())
	}
	if *via == nil {
		*via = make(map[plan.Via]string, max(hint, 8))
	}
	for dec.PeekKind() != '}' {
		k, err := dec.ReadToken()
		if err != nil {
			return err
		}
		owner := k.String()
		var members map[string]string
		if err := readStringMap(dec, &members, 0); err != nil {
			return fmt.Errorf("via %q: %w", owner, err)
		}
		for m, g := range members {
			(*via)[plan.Via{Owner: owner, Member: m}] = g
		}
	}
	_, err = dec.ReadToken()
	return err
}

// refNumbers are a list's refs: 2,000,000 numbers in a plan of 100,000
// creates, which they unmarshal without reflection, as a []int does.
type refNumbers []int

func (r *refNumbers) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	v, err := dec.ReadValue() // valid JSON
	switch {
	case err != nil:
		return err
	case v.Kind() == 'n':
		*r = nil
		return nil
	case v.Kind() != '[':
		return fmt.Errorf("refs is %v, not an array", v.Kind())
	}
	out := make([]int, 0, bytes.Count(v, []byte{','})+1)
	for i := skipSpace(v, 1); v[i] != ']'; {
		end := i
		for end < len(v) && v[end] != ',' && v[end] != ']' && v[end] != ' ' && v[end] != '\t' && v[end] != '\n' && v[end] != '\r' {
			end++
		}
		n, ok := parseRef(v[i:end])
		if !ok {
			return fmt.Errorf("refs holds %s, not a whole number", v[i:end])
		}
		out = append(out, n)
		if i = skipSpace(v, end); v[i] == ',' {
			i = skipSpace(v, i+1)
		}
	}
	*r = out
	return nil
}

// parseRef parses one of refs' numbers as a []int's unmarshaling does: a
// null is 0.
func parseRef(num []byte) (int, bool) {
	switch {
	case string(num) == "null":
		return 0, true
	case len(num) < 19 && (num[0] == '-' || '0' <= num[0] && num[0] <= '9'):
		n := 0
		for j, c := range num {
			switch {
			case '0' <= c && c <= '9':
				n = n*10 + int(c-'0')
			case c != '-' || j > 0:
				return 0, false
			}
		}
		if num[0] == '-' {
			n = -n
		}
		return n, true
	}
	n, err := strconv.ParseInt(string(num), 10, 0)
	return int(n), err == nil
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}
