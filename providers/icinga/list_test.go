package icinga

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"unsafe"
)

// TestDecodeList covers the streaming list decoder: other keys around
// "data" are skipped, ids come through the interner (one string per id),
// escaped ids take the general path, and broken answers are errors.
func TestDecodeList(t *testing.T) {
	in := interner{}
	var groups []Group
	body := `{"meta": {"x": [1, {"y": 2}]}, "data": [
		{"id": "g1", "name": "a", "users": ["u1", "u2"]},
		{"id": "g2", "name": "b", "users": [ "u2" , "u\u0033" ]},
		{"id": "g3", "name": "c", "users": null}
	], "more": true}`
	err := decodeList(strings.NewReader(body), func(dec *json.Decoder) error {
		var v struct {
			Group
			Users idList `json:"users"`
		}
		v.Users.in = in
		err := dec.Decode(&v)
		v.Group.Users = v.Users.ids
		groups = append(groups, v.Group)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) != 3 || !slices.Equal(groups[0].Users, []string{"u1", "u2"}) || !slices.Equal(groups[1].Users, []string{"u2", "u3"}) || groups[2].Users != nil {
		t.Fatalf("decoded %+v", groups)
	}
	if unsafe.StringData(groups[0].Users[1]) != unsafe.StringData(groups[1].Users[0]) {
		t.Error("the two u2 are separate strings; the interner should hand out one")
	}

	for _, bad := range []string{`[]`, `{"data": {}}`, `{"other": []}`, `{"data": [{"id": "g1", "users": [1]}]}`, `{"data": [`} {
		err := decodeList(strings.NewReader(bad), func(dec *json.Decoder) error {
			var v struct {
				Group
				Users idList `json:"users"`
			}
			v.Users.in = in
			return dec.Decode(&v)
		})
		if err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestSourceAttributes(t *testing.T) {
	cfg := Config{URL: "https://icinga.example.com/icingaweb2/notifications/api/v1", Username: "u", Password: "p"}
	if err := cfg.Resolve("inetorgperson"); err != nil {
		t.Fatal(err)
	}
	p, err := New(cfg, "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.SourceAttributes(); !slices.Equal(got, []string{"cn", "displayName", "mail", "uid"}) {
		t.Errorf("default inetOrgPerson mapping reads %v", got)
	}
	cfg.Map.Email = `{{ range $k, $v := . }}{{ $v }}{{ end }}`
	if p, err = New(cfg, "test", nil); err != nil {
		t.Fatal(err)
	}
	if got := p.SourceAttributes(); got != nil {
		t.Errorf("a mapping that ranges over every attribute must read all (nil), got %v", got)
	}
}
