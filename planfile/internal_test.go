package planfile

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/ldapply/ldapply/plan"
)

// encodingJSON is how the plan file's lines are written by reflection:
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
		o := &fileObject{Object: plan.Object{Kind: plan.Kind(str()), Key: str(), ID: str(), Name: str(), Attrs: strMap(), Sensitive: list(), Version: str()}}
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
		if rng.IntN(2) == 0 {
			o.ListDiffs = map[string]*listDiff{}
			for range rng.IntN(3) {
				var d *listDiff
				if rng.IntN(4) > 0 {
					d = &listDiff{Added: list(), Removed: list()}
				}
				o.ListDiffs[str()] = d
			}
		}
		return o
	}
	for i := range 3000 {
		fc := &fileChange{
			Action: []plan.Action{plan.Create, plan.Update, plan.Rename, plan.Adopt, plan.Delete, plan.NoOp, plan.Action('?')}[rng.IntN(7)],
			Kind:   plan.Kind(str()), Key: str(), ID: str(),
			Before: object(), After: object(),
		}
		got := appendFileChange(nil, fc)
		if want := encodingJSON(t, fc); !bytes.Equal(got, want) {
			t.Fatalf("case %d:\n got %s\nwant %s", i, got, want)
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

// TestStringMapsMatchReflection: a map[string]string unmarshals with
// stringMaps as encoding/json/v2 unmarshals it by reflection with the
// same options: escapes, bytes that are not UTF-8, null values, a name
// twice, an empty object, null; and what one refuses the other does.
func TestStringMapsMatchReflection(t *testing.T) {
	lenient := jsonv2.JoinOptions(jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	rng := rand.New(rand.NewPCG(13, 14))
	names := []string{`"a"`, `"b"`, `"\u00e9"`, `"\ud800"`, "\"caf\xe9\"", `"\n\"\\"`, `""`, `"日本"`}
	values := append(slices.Clone(names), "null", "1", "true", "[]", "{}", `["x"]`)
	inputs := []string{"null", "{}", `{"a":"1","a":"2"}`, `[]`, `"x"`, `{"a":}`, `{"a":"1",}`, `{"a" "1"}`}
	for range 3000 {
		inputs = append(inputs, randomContainer(rng, "{", "}", func() string {
			return names[rng.IntN(len(names))] + ":" + values[rng.IntN(len(values))]
		}))
	}
	for _, in := range inputs {
		var want, got struct {
			M map[string]string `json:"m"`
		}
		line := []byte(`{"m":` + in + `}`)
		wantErr := jsonv2.Unmarshal(line, &want, lenient)
		gotErr := jsonv2.Unmarshal(line, &got, lenient, stringMaps(0))
		if (wantErr == nil) != (gotErr == nil) {
			t.Fatalf("%s: stringMaps error %v, reflection's %v", in, gotErr, wantErr)
		}
		if wantErr == nil && !maps.Equal(want.M, got.M) || (want.M == nil) != (got.M == nil) {
			t.Fatalf("%s: stringMaps gives %q, reflection %q", in, got.M, want.M)
		}
	}
}

// TestRefNumbersMatchReflection: refs unmarshal as a []int does by
// reflection: whole numbers, negative ones, null (0), whitespace, an
// empty array, null; and what one refuses the other does.
func TestRefNumbersMatchReflection(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	elems := []string{"0", "7", "-1", "-0", "123456", "null", "1.5", "1e2", `"3"`, "true", "[]", "{}", "9223372036854775807", "-9223372036854775808", "9223372036854775808", "123456789012345678", " 4 ", "\t5\n"}
	inputs := []string{"null", "[]", "[ ]", "{}", `"x"`, "[1,]", "[01]", "7"}
	for range 3000 {
		inputs = append(inputs, randomContainer(rng, "[", "]", func() string { return elems[rng.IntN(len(elems))] }))
	}
	for _, in := range inputs {
		var want struct {
			Refs []int `json:"refs"`
		}
		var got listRefs
		line := []byte(`{"refs":` + in + `}`)
		wantErr := jsonv2.Unmarshal(line, &want, lineOptions)
		gotErr := jsonv2.Unmarshal(line, &got, lineOptions)
		if (wantErr == nil) != (gotErr == nil) {
			t.Fatalf("%s: refNumbers error %v, reflection's %v", in, gotErr, wantErr)
		}
		if wantErr == nil && (!slices.Equal(want.Refs, got.Refs) || (want.Refs == nil) != (got.Refs == nil)) {
			t.Fatalf("%s: refNumbers gives %v, reflection %v", in, got.Refs, want.Refs)
		}
	}
}

// TestEarlierIDsAt finds each change's id among earlier batches of
// batchLines changes, of other lengths (which decode does not make
// today, but at must not misread), and the batch's own.
func TestEarlierIDsAt(t *testing.T) {
	for _, sizes := range [][]int{{batchLines, batchLines, batchLines}, {batchLines, 3, batchLines + 7, 1}, {1, 1, 2 * batchLines}} {
		var e earlierIDs
		n := 0
		for _, size := range sizes {
			b := &batchIDs{first: n}
			for range size {
				b.ids = append(b.ids, fmt.Sprint("id-", n))
				n++
			}
			e.before = append(e.before, b)
		}
		e.own0 = n
		e.own = []string{fmt.Sprint("id-", n), fmt.Sprint("id-", n+1)}
		if e.len() != n+2 {
			t.Errorf("sizes %v: len %d, want %d", sizes, e.len(), n+2)
		}
		for i := range n + 2 {
			if got, want := e.at(i), fmt.Sprint("id-", i); got != want {
				t.Fatalf("sizes %v: at(%d) = %s, want %s", sizes, i, got, want)
			}
		}
	}
}

// TestStartLinesWhenItPays: Write makes lines on several cores for a
// plan of two batches or more, and one by one otherwise or on one core.
// (TestWriteAllMatchesOneByOne checks the lines; this, that the workers
// run at all.)
func TestStartLinesWhenItPays(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	cs := userCreates(2 * writeBatch)
	m := startLines(cs)
	if m == nil {
		t.Fatalf("no workers for %d changes on 2 cores", len(cs))
	}
	writeLines(t, m, len(cs))
	if m := startLines(cs[:2*writeBatch-1]); m != nil {
		m.stop()
		t.Error("workers for fewer than two batches")
	}
	runtime.GOMAXPROCS(1)
	if m := startLines(cs); m != nil {
		m.stop()
		t.Error("workers on one core")
	}
}

// TestBatchEnd: a batch of lines to make is writeBatch changes, fewer
// once their lists hold more than writeBatchValues values, and never
// none.
func TestBatchEnd(t *testing.T) {
	member := make([]string, 1000)
	users := make([]plan.Change, 600)
	groups := make([]plan.Change, 40)
	for i := range groups {
		groups[i].After = &plan.Object{Lists: map[string][]string{"members": member}}
	}
	groups[3].Before = &plan.Object{Lists: map[string][]string{"members": make([]string, 30000)}}
	cs := slices.Concat(users, groups)
	var ends []int
	for first := 0; first < len(cs); first = ends[len(ends)-1] {
		ends = append(ends, batchEnd(cs, first))
		if ends[len(ends)-1] <= first {
			t.Fatalf("batchEnd(%d) = %d", first, ends[len(ends)-1])
		}
	}
	// 600 users: 256, 256, then 88 users and three groups (6,000 values);
	// the fourth group (31,000) alone, then 16 groups (16,000) at a time.
	want := []int{256, 512, 600 + 3, 600 + 4, 600 + 4 + 16, 600 + 4 + 32, 640}
	if !slices.Equal(ends, want) {
		t.Errorf("batches end at %v, want %v", ends, want)
	}
}

// TestLinesAheadBounded: with no one writing, Write's workers stop
// making lines once linesAhead bytes are made (give or take the batches
// the workers hold), and go on as they are written.
func TestLinesAheadBounded(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	cs := userCreates(40 * writeBatch)
	defer setLinesAhead(64 << 10)()
	m := startLines(cs)
	time.Sleep(200 * time.Millisecond) // time enough to make every line, were they not bounded
	made := m.made(0)
	lines := writeLines(t, m, len(cs))
	if allowed := 64<<10 + 3*(len(lines)/40); made > allowed {
		t.Errorf("%d bytes of lines made ahead of the writer, want at most %d (64 KiB and the three batches the workers hold)", made, allowed)
	}
}

// userCreates returns n creates of users with ids u-0, u-1 ...
func userCreates(n int) []plan.Change {
	cs := make([]plan.Change, n)
	for i := range cs {
		cs[i] = plan.Change{Action: plan.Create, Kind: plan.KindUser, ID: fmt.Sprint("u-", i), After: &plan.Object{Kind: plan.KindUser, ID: fmt.Sprint("u-", i)}}
	}
	return cs
}

// writeLines writes a plan file of the n changes whose lines m makes and
// returns its text.
func writeLines(t *testing.T, m *lineMaker, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	pw, err := NewWriter(&buf, &plan.Plan{}, []byte("k"))
	if err != nil {
		t.Fatal(err)
	}
	if err := pw.writeLines(m); err != nil || pw.enc.n != n {
		t.Fatalf("writeLines: %v, %d changes written, want %d", err, pw.enc.n, n)
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	text, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return text
}

// setLinesAhead sets linesAhead until the returned function restores it.
func setLinesAhead(n int) (restore func()) {
	old := linesAhead
	linesAhead = n
	return func() { linesAhead = old }
}

// randomContainer returns open, up to four elements separated by commas,
// and end.
func randomContainer(rng *rand.Rand, open, end string, elem func() string) string {
	parts := make([]string, rng.IntN(5))
	for i := range parts {
		parts[i] = elem()
	}
	return open + strings.Join(parts, ",") + end
}
