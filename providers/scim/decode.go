package scim

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"
)

// Answers are decoded with encoding/json/v2's streaming decoder
// (github.com/go-json-experiment/json, as the Icinga client does) as
// leniently as encoding/json decodes them: names match
// case-insensitively, a duplicate name replaces the value before it,
// invalid UTF-8 is accepted. (jsonv1.DefaultOptionsV1 would do too,
// but under it the decoder buffers far more of the answer.)
var decodeOptions = jsonv2.JoinOptions(jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true),
	jsonv2.MatchCaseInsensitiveNames(true), jsonv1.MergeWithLegacySemantics(true))

// decodePage reads one ListResponse from r as it arrives.
func decodePage(r io.Reader) (*listPage, error) {
	var pg listPage
	if err := jsonv2.UnmarshalRead(r, &pg, decodeOptions); err != nil {
		return nil, fmt.Errorf("the answer is not a ListResponse: %w", err)
	}
	return &pg, nil
}

// memberIDs is a members value as a Resource decodes it: the members'
// ids, which is all ldapply reads of them. A group's members are most
// of the text of a list of groups, and their type, display and $ref
// would cost a generic value each.
type memberIDs []string

// MarshalJSON writes the members as SCIM has them: [{"value": id}].
func (m memberIDs) MarshalJSON() ([]byte, error) {
	vals := make([]map[string]string, len(m))
	for i, id := range m {
		vals[i] = map[string]string{"value": id}
	}
	return json.Marshal(vals)
}

// UnmarshalJSON decodes a resource as UnmarshalJSONFrom does, so that
// encoding/json gives the same Resource.
func (r *Resource) UnmarshalJSON(b []byte) error {
	return jsonv2.Unmarshal(b, r, decodeOptions)
}

// UnmarshalJSONFrom decodes a resource in one pass: its attributes to
// generic values (objects to map[string]any, numbers to float64, as
// encoding/json does), except a members list, which becomes memberIDs.
func (r *Resource) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	tok, err := dec.ReadToken()
	if err != nil {
		return err
	}
	switch tok.Kind() {
	case 'n':
		*r = nil
		return nil
	case '{':
	default:
		return fmt.Errorf("found %v where a resource object belongs", tok)
	}
	m := Resource{}
	for dec.PeekKind() == '"' {
		tok, err := dec.ReadToken()
		if err != nil {
			return err
		}
		name := tok.String()
		var v any
		if strings.EqualFold(name, "members") && dec.PeekKind() == '[' {
			v, err = decodeMemberIDs(dec)
		} else {
			err = jsonv2.UnmarshalDecode(dec, &v)
		}
		if err != nil {
			return fmt.Errorf("attribute %s: %w", name, err)
		}
		m[name] = v
	}
	if _, err := dec.ReadToken(); err != nil { // '}', or what the decoder says is wrong
		return err
	}
	*r = m
	return nil
}

// decodeMemberIDs reads a members array: the string value of each
// element's "value" (the last one, named exactly so); elements without
// one, and elements that are not objects, are left out.
func decodeMemberIDs(dec *jsontext.Decoder) (memberIDs, error) {
	if _, err := dec.ReadToken(); err != nil { // '['
		return nil, err
	}
	ids := memberIDs{}
	for k := dec.PeekKind(); k != ']'; k = dec.PeekKind() {
		if k != '{' {
			if err := dec.SkipValue(); err != nil { // also says what is wrong at the end of the input
				return nil, err
			}
			continue
		}
		id, ok, err := decodeMemberValue(dec)
		if err != nil {
			return nil, err
		}
		if ok {
			ids = append(ids, id)
		}
	}
	_, err := dec.ReadToken()
	return ids, err
}

// decodeMemberValue reads one member object and returns its value, and
// whether it has one that is a string.
func decodeMemberValue(dec *jsontext.Decoder) (id string, ok bool, err error) {
	if _, err := dec.ReadToken(); err != nil { // '{'
		return "", false, err
	}
	for dec.PeekKind() == '"' {
		tok, err := dec.ReadToken()
		if err != nil {
			return "", false, err
		}
		isValue := tok.String() == "value"
		if isValue && dec.PeekKind() == '"' {
			if tok, err = dec.ReadToken(); err != nil {
				return "", false, err
			}
			id, ok = tok.String(), true
			continue
		}
		if isValue {
			ok = false // a later value that is no string replaces the one before
		}
		if err := dec.SkipValue(); err != nil {
			return "", false, err
		}
	}
	_, err = dec.ReadToken() // '}'
	return id, ok, err
}
