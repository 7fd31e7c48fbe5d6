package plan

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
)

// encodingJSON is how plan files were written before appendFileChange:
// encoding/json's Encoder with HTML escaping off.
func encodingJSON(t *testing.T, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// TestFileLinesMatchEncodingJSON: a change line written by hand is the
// line encoding/json writes, byte for byte, whatever the strings hold
// and whichever fields are empty, nil or missing.
func TestFileLinesMatchEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	pieces := []string{"", "a", "alice", "Chloé", `"`, `\`, "<b>&amp;", "\n", "\t\r\b\f", "\x00\x01\x1f", "\x7f", "\xff", "\xe2\x80", "\u2028", "\u2029", "日本", "😀", "/", "uid=x,dc=y"}
	str := func() string {
		var b strings.Builder
		for range rng.IntN(4) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		return b.String()
	}
	list := func() []string {
		switch rng.IntN(4) {
		case 0:
			return nil
		case 1:
			return []string{}
		}
		l := make([]string, rng.IntN(4)+1)
		for i := range l {
			l[i] = str()
		}
		return l
	}
	strMap := func() map[string]string {
		if rng.IntN(3) == 0 {
			return nil
		}
		m := map[string]string{}
		for range rng.IntN(4) {
			m[str()] = str()
		}
		return m
	}
	object := func() *fileObject {
		if rng.IntN(4) == 0 {
			return nil
		}
		o := &fileObject{Object: Object{Kind: Kind(str()), Key: str(), ID: str(), Name: str(), Attrs: strMap(), Sensitive: list(), Version: str()}}
		if rng.IntN(2) == 0 {
			o.Lists = map[string][]string{}
			for range rng.IntN(3) {
				o.Lists[str()] = list()
			}
		}
		if rng.IntN(2) == 0 {
			o.ListRefs = map[string]*listRefs{}
			for range rng.IntN(3) {
				var r *listRefs
				if rng.IntN(4) > 0 {
					r = &listRefs{Others: list()}
					for range rng.IntN(4) {
						r.Refs = append(r.Refs, rng.IntN(2000)-1)
					}
				}
				o.ListRefs[str()] = r
			}
		}
		return o
	}
	payloads := []string{"", `{"id":"x","users":["a","b"]}`, "{ \"id\" : \"x\",\n  \"n\": [1, 2.5e3, true, null] }", `"<&>"`, `[]`}
	for i := range 3000 {
		fc := &fileChange{
			Action: []Action{Create, Update, Rename, Adopt, Delete, NoOp, Action('?')}[rng.IntN(7)],
			Kind:   Kind(str()), Key: str(), ID: str(),
			Before: object(), After: object(),
			Payload:      json.RawMessage(payloads[rng.IntN(len(payloads))]),
			PayloadLists: strMap(),
		}
		if len(fc.Payload) == 0 {
			fc.Payload = nil
		}
		got, err := appendFileChange(nil, fc)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if want := encodingJSON(t, fc); !bytes.Equal(got, want) {
			t.Fatalf("case %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

func TestFileLineRefusesBadPayload(t *testing.T) {
	fc := &fileChange{Action: Create, Kind: KindUser, ID: "u", Payload: json.RawMessage(`{"id":`)}
	if _, err := appendFileChange(nil, fc); err == nil {
		t.Error("a change whose payload is not JSON was written")
	}
}

// TestAppendStringMatchesMarshal: payload lists are compared with and
// rebuilt by appendString, which must write what json.Marshal writes.
func TestAppendStringMatchesMarshal(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	pieces := []string{"", "u-1", "Chloé", `"`, `\`, "<b>", "&", "\n\t", "\x00\x1f", "\x7f", "\xff", "\u2028", "😀"}
	for range 2000 {
		var b strings.Builder
		for range rng.IntN(5) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		s := b.String()
		want, _ := json.Marshal(s)
		if got := appendString([]byte("x"), s); string(got) != "x"+string(want) {
			t.Fatalf("appendString(%q) = %s, json.Marshal gives %s", s, got[1:], want)
		}
	}
}

// TestAppendLargeStringMapMatchesEncodingJSON: the header's refs, sorted
// by their first 8 bytes before their text, come out as encoding/json
// writes the map: keys shorter than 8 bytes, keys that share their first
// 8 bytes (a group's "via" refs), NUL bytes, and strings to escape.
func TestAppendLargeStringMapMatchesEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	pieces := []string{"", "a", "ab", "\x00", "\x00\x00", "u-1", "019d73c2-70dc-5764-8231-5ae6c9d0401c", "/", "Chloé", `"`, "<b>", "\xff", "\u2028", "\x7f", "😀"}
	for round := range 200 {
		m := map[string]string{}
		for range rng.IntN(300) {
			var k, v strings.Builder
			for range rng.IntN(4) {
				k.WriteString(pieces[rng.IntN(len(pieces))])
			}
			for range rng.IntN(3) {
				v.WriteString(pieces[rng.IntN(len(pieces))])
			}
			m[k.String()] = v.String()
		}
		if round == 0 {
			m = nil
		}
		if got, want := appendLargeStringMap([]byte("x"), m), append([]byte("x"), encodingJSON(t, map[string]string(m))...); !bytes.Equal(got, want) && !(m == nil && string(got) == "x{}") {
			t.Fatalf("round %d:\n got %s\nwant %s", round, got, want)
		}
	}
}

// TestAppendCompactMatchesEncodingJSON: payloads are compacted by
// jsontext as json.Compact does, byte for byte, and what json.Compact
// refuses is refused: space in and around values, strings with escapes,
// bytes that are not UTF-8 and lone surrogates, numbers of every form,
// names twice, nesting, and broken values.
func TestAppendCompactMatchesEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	atoms := []string{`"a b"`, `"\u00e9\n\"\\\/"`, "\"caf\xe9\"", `"\ud800"`, `"\udc00\ud800"`, `"<&>"`, "\"\u2028\"", `""`, `"\x"`, "\"\x01\"",
		"0", "-0", "1.5e+10", "-12.25E-3", "01", "1.", ".5", "-", "1e", "true", "false", "null", "nul", "tru"}
	space := []string{"", "", "", " ", "\t", "\n", "\r\n  "}
	var value func(depth int) string
	value = func(depth int) string {
		sp := func() string { return space[rng.IntN(len(space))] }
		switch r := rng.IntN(10); {
		case depth > 3 || r < 5:
			return sp() + atoms[rng.IntN(len(atoms))] + sp()
		case r < 7:
			var parts []string
			for range rng.IntN(4) {
				parts = append(parts, value(depth+1))
			}
			return sp() + "[" + strings.Join(parts, ",") + "]" + sp()
		default:
			var parts []string
			for range rng.IntN(4) {
				parts = append(parts, sp()+`"k`+string(rune('a'+rng.IntN(2)))+`"`+sp()+":"+value(depth+1))
			}
			return sp() + "{" + strings.Join(parts, ",") + "}" + sp()
		}
	}
	inputs := []string{"", " ", "{}", "[]", `{"a":1}x`, `{"a":1} {}`, `{"a":1`, `{"a" 1}`, `[1,]`, `[,1]`, `{"a":1,}`}
	for range 20000 {
		inputs = append(inputs, value(0))
	}
	accepted, fast := 0, 0
	for _, in := range inputs {
		if v := jsontext.Value(in); v.Compact(compactOptions) == nil {
			fast++
		}
		var want bytes.Buffer
		wantErr := json.Compact(&want, []byte(in))
		got, gotErr := appendCompact([]byte("x"), []byte(in))
		if (wantErr == nil) != (gotErr == nil) {
			t.Fatalf("%q: appendCompact error %v, json.Compact's %v", in, gotErr, wantErr)
		}
		if wantErr == nil {
			accepted++
			if string(got) != "x"+want.String() {
				t.Fatalf("%q: appendCompact gives %q, json.Compact %q", in, got[1:], want.String())
			}
		}
	}
	if accepted < len(inputs)/10 {
		t.Errorf("only %d of %d inputs are JSON: the test checks too little", accepted, len(inputs))
	}
	// An input jsontext refuses and json.Compact accepts would take the
	// slow way; none of these does, and most must not.
	if fast < accepted*9/10 {
		t.Errorf("jsontext compacted %d of the %d inputs that are JSON", fast, accepted)
	}
	t.Logf("%d inputs, %d JSON, %d compacted by jsontext", len(inputs), accepted, fast)
}
