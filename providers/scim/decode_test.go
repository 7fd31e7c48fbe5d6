package scim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// referencePage decodes a ListResponse the plain way, with encoding/json
// into generic values, as List did before decodePage.
func referencePage(b []byte) (int, []map[string]any, error) {
	var pg struct {
		TotalResults int              `json:"totalResults"`
		Resources    []map[string]any `json:"Resources"`
	}
	err := json.Unmarshal(b, &pg)
	return pg.TotalResults, pg.Resources, err
}

// referenceMembers reads a generic members value as Members did before
// memberIDs: the string "value" of each element that is an object.
func referenceMembers(v any) []string {
	l, _ := v.([]any)
	out := []string{}
	for _, e := range l {
		m, _ := e.(map[string]any)
		if s, ok := m["value"].(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// diffPage returns how decodePage's reading of b differs from the plain
// one, or "" when the two agree: the same errors, totals and
// attributes, and members as the same ids.
func diffPage(b []byte) string {
	total, want, werr := referencePage(b)
	got, err := decodePage(bytes.NewReader(b))
	if (err != nil) != (werr != nil) {
		return fmt.Sprintf("error %v, plain decoding's %v", err, werr)
	}
	if err != nil {
		return ""
	}
	if got.TotalResults != total || len(got.Resources) != len(want) {
		return fmt.Sprintf("totalResults %d and %d resources, want %d and %d", got.TotalResults, len(got.Resources), total, len(want))
	}
	for i, w := range want {
		g := got.Resources[i]
		if (g == nil) != (w == nil) || len(g) != len(w) {
			return fmt.Sprintf("resource %d is %#v, want %#v", i, g, w)
		}
		for k, wv := range w {
			gv, ok := g[k]
			if _, isList := wv.([]any); isList && strings.EqualFold(k, "members") {
				if ids, _ := gv.(memberIDs); !slices.Equal(ids, referenceMembers(wv)) || ids == nil {
					return fmt.Sprintf("resource %d's %s are %#v, want ids %q", i, k, gv, referenceMembers(wv))
				}
				continue
			}
			if !ok || !reflect.DeepEqual(gv, wv) {
				return fmt.Sprintf("resource %d's %s is %#v, want %#v", i, k, gv, wv)
			}
		}
	}
	return ""
}

// pageCases are the differential test's inputs: attributes of every
// JSON kind, members of every shape a service might send, and broken
// answers.
var pageCases = []string{
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":2,"itemsPerPage":2,"startIndex":1,"Resources":[
	  {"id":"u1","externalId":"k1","userName":"a","name":{"givenName":"A","familyName":"B"},"active":true,"emails":[{"value":"a@x","type":"work","primary":true}],
	   "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"7","manager":{"value":"u2"}},"meta":{"version":"W/\"1\""},"n":1.5e3,"z":null},
	  {"id":"g1","displayName":"g","members":[{"value":"u1","type":"User","$ref":"http://x/Users/u1"},{"value":"u2","display":"B"}],"meta":{"version":"W/\"2\""}}]}`,
	`{"totalresults":1,"resources":[{"id":"g2","Members":[{"value":"u\u0031"},{"type":"User"},{"value":3},{"value":null},"u4",["u5"],null,{"Value":"u6"},{"value":""},{"value":"u7","value":"u8"},{"value":"u9","value":9},{"value":1,"value":"u10"}]}]}`,
	`{"totalResults":3,"Resources":[{"id":"g3","members":null},{"id":"g4","members":[]},{"id":"g5","members":"u1"},{"id":"g6","members":{"value":"u1"}}]}`,
	`{"totalResults":2,"Resources":[null,{"id":"u2","id":"u3","userName":"dup","members":[{"value":"a"}],"members":[{"value":"b"}]}]}`,
	`{"totalResults":1,"Resources":[{"id":"g7","members":[{"value":"a","nested":{"value":"x","deep":[1,{"value":"y"}]}}]}]}`,
	`{"totalResults":1,"Resources":[{"id":"u\u00e9\ud83d\ude00","userName":"\"quoted\" \\ back\/slash\n"}]}`,
	`{"totalResults":0,"Resources":[]}`,
	`{"totalResults":0}`,
	`{"Resources":null}`,
	`{"totalResults":1,"Resources":[{"id":"g8","members":[{"value":"a"}`,
	`{"totalResults":1,"Resources":[{"id":"g9","members":[{"value":"a"},]}]}`,
	`{"totalResults":1,"Resources":[{"id":"g9","members":[{"value" "a"}]}]}`,
	`{"totalResults":"1","Resources":[]}`,
	`{"totalResults":1,"Resources":["u1"]}`,
	`{"totalResults":1,"Resources":{"id":"u1"}}`,
	`[]`,
	`<html>login</html>`,
	``,
	`{"totalResults":1,"Resources":[]} trailing`,
}

// TestDecodeMatchesReference: decodePage reads every case as plain
// encoding/json into generic values does, members as their ids.
func TestDecodeMatchesReference(t *testing.T) {
	for _, c := range pageCases {
		if d := diffPage([]byte(c)); d != "" {
			t.Errorf("%s:\n%s", c, d)
		}
	}
	if d := diffPage(benchPage(20, 50)); d != "" {
		t.Errorf("a page of groups as scimsim writes them: %s", d)
	}
}

// FuzzDecodeMatchesReference: decodePage and plain encoding/json agree
// on any input.
func FuzzDecodeMatchesReference(f *testing.F) {
	for _, c := range pageCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if d := diffPage(b); d != "" {
			t.Errorf("%q:\n%s", b, d)
		}
	})
}

// TestResourceDecodeAndEncode: encoding/json decodes a single Resource
// as decodePage does, and a resource's members encode as SCIM has them.
func TestResourceDecodeAndEncode(t *testing.T) {
	var g Resource
	if err := json.Unmarshal([]byte(`{"id":"g1","Members":[{"value":"u1","type":"User","$ref":"x"},{"value":"u2"}],"meta":{"version":"W/\"3\""}}`), &g); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(g.Members(), ","); got != "u1,u2" || g.Version() != `W/"3"` {
		t.Errorf("members %q, version %q; want u1,u2 and W/\"3\"", got, g.Version())
	}
	b, _ := json.Marshal(g)
	if !strings.Contains(string(b), `"Members":[{"value":"u1"},{"value":"u2"}]`) {
		t.Errorf("encoded as %s", b)
	}
	b, _ = json.Marshal(Resource{"members": memberIDs(nil)})
	if string(b) != `{"members":[]}` {
		t.Errorf("a group without members encoded as %s, want members []", b)
	}
	var null Resource
	if err := json.Unmarshal([]byte(`{"id":"g2","members":null}`), &null); err != nil || null.get("members") != nil {
		t.Errorf("null members decoded as %#v (%v), want nil: the group's members are read on their own", null.get("members"), err)
	}
}

// benchPage is a ListResponse of groups as scimsim writes them: each
// member with its value, type and $ref.
func benchPage(groups, members int) []byte {
	var rs []any
	for g := range groups {
		ms := make([]any, members)
		for i := range ms {
			id := fmt.Sprintf("%08x-0000-4000-8000-%012x", g, i)
			ms[i] = map[string]any{"value": id, "type": "User", "$ref": "http://127.0.0.1:40000/scim/v2/Users/" + id}
		}
		rs = append(rs, map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "id": fmt.Sprint("g", g),
			"externalId": fmt.Sprintf("cn=group%d,ou=groups,dc=example,dc=com", g), "displayName": fmt.Sprint("group", g), "members": ms,
			"meta": map[string]any{"resourceType": "Group", "version": `W/"1"`, "location": fmt.Sprint("http://127.0.0.1:40000/scim/v2/Groups/g", g)}})
	}
	b, _ := json.Marshal(map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:ListResponse"},
		"totalResults": groups, "itemsPerPage": groups, "startIndex": 1, "Resources": rs})
	return b
}

// BenchmarkDecodePage decodes a page of 100 groups of 1,000 members,
// the client's work for a page of an in-sync plan's group list; Plain
// is encoding/json into generic values, as List did before.
func BenchmarkDecodePage(b *testing.B) {
	page := benchPage(100, 1000)
	b.Run("Fast", func(b *testing.B) {
		b.SetBytes(int64(len(page)))
		for b.Loop() {
			if _, err := decodePage(bytes.NewReader(page)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Plain", func(b *testing.B) {
		b.SetBytes(int64(len(page)))
		for b.Loop() {
			if _, _, err := referencePage(page); err != nil {
				b.Fatal(err)
			}
		}
	})
}
