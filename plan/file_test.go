package plan_test

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ldapply/ldapply/plan"
)

// samplePlan covers every action, a long text change, a sensitive value,
// list changes with and without known names, and a warning.
func samplePlan() *plan.Plan {
	p := &plan.Plan{
		ToolVersion:  "0.1.0-test",
		Created:      time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC),
		Lineage:      "3f0c1d9e-5b1a-4f55-a0a4-6f3e1c2d9b7a",
		Serial:       4,
		ConfigDigest: "sha256:abc",
		Source:       "ldaps://ldap.example.com",
		Target:       "icinga https://icinga.example.com/icingaweb2/notifications/api/v1",
		Counts:       map[string]int{"source users": 5, "source groups": 2},
		Refs:         map[string]string{"u-alice": "alice", "u-bob": "bob", "u-dave": "dave", "g-ops/u-alice": "alice (via dev)"},
		Warnings:     []string{`user uid=nomail,ou=people,dc=example,dc=com has no email address and is skipped`},
	}
	p.Changes = []plan.Change{
		{Action: plan.Create, Kind: plan.KindUser, Key: "k-alice", ID: "u-alice",
			After:   &plan.Object{Kind: plan.KindUser, Key: "k-alice", ID: "u-alice", Name: "alice", Attrs: map[string]string{"username": "alice", "full_name": "Alice Doe", "email": "alice@example.com"}},
			Payload: []byte(`{"id":"u-alice","username":"alice"}`)},
		{Action: plan.Adopt, Kind: plan.KindUser, Key: "k-erin", ID: "u-erin",
			Before: &plan.Object{Kind: plan.KindUser, ID: "u-erin", Name: "erin", Attrs: map[string]string{"email": "erin@old.example.com"}, Version: "v1"},
			After:  &plan.Object{Kind: plan.KindUser, Key: "k-erin", ID: "u-erin", Name: "erin", Attrs: map[string]string{"email": "erin@example.com"}}},
		{Action: plan.Rename, Kind: plan.KindUser, Key: "k-carol", ID: "u-carol",
			Before: &plan.Object{Kind: plan.KindUser, ID: "u-carol", Name: "carol", Attrs: map[string]string{"username": "carol"}, Version: "v2"},
			After:  &plan.Object{Kind: plan.KindUser, Key: "k-carol", ID: "u-carol", Name: "caroline", Attrs: map[string]string{"username": "caroline"}}},
		{Action: plan.Update, Kind: plan.KindUser, Key: "k-bob", ID: "u-bob",
			Before: &plan.Object{Kind: plan.KindUser, ID: "u-bob", Name: "bob", Attrs: map[string]string{"email": "bob@old.example.com", "description": "line one\nline two\nline three", "secret": "h1"}, Sensitive: []string{"secret"}, Version: "v3"},
			After:  &plan.Object{Kind: plan.KindUser, Key: "k-bob", ID: "u-bob", Name: "bob", Attrs: map[string]string{"email": "bob@example.com", "description": "line one\nline 2\nline three", "secret": "h2"}, Sensitive: []string{"secret"}}},
		{Action: plan.Delete, Kind: plan.KindUser, Key: "k-dave", ID: "u-dave",
			Before: &plan.Object{Kind: plan.KindUser, ID: "u-dave", Name: "dave", Version: "v4"}},
		{Action: plan.Update, Kind: plan.KindGroup, Key: "k-ops", ID: "g-ops",
			Before: &plan.Object{Kind: plan.KindGroup, ID: "g-ops", Name: "ops", Lists: map[string][]string{"members": {"u-bob", "u-dave"}}, Version: "v5"},
			After:  &plan.Object{Kind: plan.KindGroup, Key: "k-ops", ID: "g-ops", Name: "ops", Lists: map[string][]string{"members": {"u-alice", "u-bob", "u-unknown"}}}},
		{Action: plan.Delete, Kind: plan.KindGroup, Key: "k-old", ID: "g-old",
			Before: &plan.Object{Kind: plan.KindGroup, ID: "g-old", Name: "old-team"}},
	}
	return p
}

var key = []byte("0123456789abcdef0123456789abcdef")

// gunzip returns a plan file's JSON Lines (files are written compressed;
// the reader takes both forms).
func gunzip(t *testing.T, b []byte) string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func TestFileRoundTrip(t *testing.T) {
	p := samplePlan()
	var buf bytes.Buffer
	if err := plan.Write(&buf, p, key); err != nil {
		t.Fatal(err)
	}
	got, err := plan.Read(bytes.NewReader(buf.Bytes()), key)
	if err != nil {
		t.Fatal(err)
	}
	p.FormatVersion = plan.FormatVersion
	// The file stores list attributes as differences (removed in Before,
	// added in After), and none for a delete.
	ops := &p.Changes[5]
	ops.Before.Lists["members"] = []string{"u-dave"}
	ops.After.Lists["members"] = []string{"u-alice", "u-unknown"}
	if d := cmp.Diff(p, got); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
}

func TestFileRejects(t *testing.T) {
	var buf bytes.Buffer
	if err := plan.Write(&buf, samplePlan(), key); err != nil {
		t.Fatal(err)
	}
	compressed := buf.Bytes()
	good := gunzip(t, compressed)
	lines := strings.SplitAfter(good, "\n")
	tests := map[string]struct {
		file string
		key  []byte
		want error
		msg  string
	}{
		"truncated": {file: strings.Join(lines[:3], ""), want: plan.ErrCorrupt},
		"bad change, then cut": {
			file: lines[0] + "{\"action\":1}\n" + strings.Join(lines[2:4], ""),
			want: plan.ErrCorrupt, msg: "change 1:",
		},
		"truncated gzip":   {file: string(compressed[:len(compressed)/2]), want: plan.ErrCorrupt},
		"edited payload":   {file: strings.Replace(good, `"alice@example.com"`, `"mallory@example.com"`, 1), want: plan.ErrCorrupt},
		"not a plan":       {file: "hello\n", want: plan.ErrCorrupt},
		"empty":            {file: "", want: plan.ErrCorrupt},
		"trailing garbage": {file: good + "x", want: plan.ErrCorrupt},
		"other state key":  {file: good, key: []byte("another key"), want: plan.ErrTampered},
		"future format": {
			file: strings.Replace(good, fmt.Sprintf(`"format_version":%d`, plan.FormatVersion), `"format_version":9`, 1),
			msg:  "format version 9",
		},
		// Version 2 stored refs otherwise and signed every byte; plans
		// are short-lived, so it is refused rather than read.
		"previous format": {
			file: strings.Replace(good, fmt.Sprintf(`"format_version":%d`, plan.FormatVersion), `"format_version":2`, 1),
			msg:  "format version 2, and this ldapply reads only version 3: use the ldapply version that made it, or run plan again",
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			k := tt.key
			if k == nil {
				k = key
			}
			_, err := plan.Read(strings.NewReader(tt.file), k)
			if err == nil {
				t.Fatal("Read accepted a bad plan file")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("error = %v, want %v", err, tt.want)
			}
			if tt.msg != "" && !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error = %v, want it to mention %q", err, tt.msg)
			}
		})
	}
	// A re-signed edit (checksum recomputed by someone without the
	// state's key) is caught by the signature.
	p := samplePlan()
	p.Changes[0].After.Attrs["email"] = "mallory@example.com"
	var forged bytes.Buffer
	if err := plan.Write(&forged, p, []byte("guessed")); err != nil {
		t.Fatal(err)
	}
	if _, err := plan.Read(&forged, key); !errors.Is(err, plan.ErrTampered) {
		t.Errorf("forged plan: error = %v, want ErrTampered", err)
	}
}

func TestFileStoresPayloadListsOnce(t *testing.T) {
	members := []string{"u-0001-aaaa", "u-0002-bbbb", "u-0003-cccc"}
	p := &plan.Plan{Changes: []plan.Change{{
		Action: plan.Create, Kind: plan.KindGroup, Key: "k", ID: "g",
		After:   &plan.Object{Kind: plan.KindGroup, Key: "k", ID: "g", Name: "ops", Lists: map[string][]string{"members": members}},
		Payload: []byte(`{"id":"g","name":"ops","users":["u-0001-aaaa","u-0002-bbbb","u-0003-cccc"]}`),
	}}}
	var buf bytes.Buffer
	if err := plan.Write(&buf, p, key); err != nil {
		t.Fatal(err)
	}
	text := gunzip(t, buf.Bytes())
	if n := strings.Count(text, "u-0002-bbbb"); n != 1 {
		t.Errorf("the member list is stored %d times, want once:\n%s", n, text)
	}
	got, err := plan.Read(&buf, key)
	if err != nil {
		t.Fatal(err)
	}
	p.FormatVersion = plan.FormatVersion
	if d := cmp.Diff(p, got); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
	// A payload_lists key the payload lacks is corruption, not an empty list.
	// (The checksum is recomputed, so only the bad key can be at fault.)
	bad := resum(t, strings.Replace(text, `"payload_lists":{"members":"users"}`, `"payload_lists":{"members":"nope"}`, 1))
	if _, err := plan.Read(strings.NewReader(bad), nil); !errors.Is(err, plan.ErrCorrupt) || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("bad payload_lists: error %v, want ErrCorrupt naming the key", err)
	}
}

// resum recomputes a plan file's sha256 after an edit (the HMAC, which
// needs the state's key, stays wrong).
func resum(t *testing.T, text string) string {
	t.Helper()
	lines := strings.SplitAfter(strings.TrimSuffix(text, "\n"), "\n")
	body := strings.Join(lines[:len(lines)-1], "")
	sum := sha256.Sum256([]byte(body))
	trailer := regexp.MustCompile(`"sha256":"[0-9a-f]+"`).ReplaceAllString(lines[len(lines)-1], `"sha256":"`+hex.EncodeToString(sum[:])+`"`)
	return body + trailer + "\n"
}

// TestFileListRoundTrip covers each way the file stores a list: as
// references to earlier changes, as it is, once for a create and its
// payload, and as differences for the other actions. Read must return
// exactly what apply executes: the same values, payload bytes included.
func TestFileListRoundTrip(t *testing.T) {
	user := func(action plan.Action, id, name string) plan.Change {
		o := &plan.Object{Kind: plan.KindUser, Key: "k-" + name, ID: id, Name: name, Attrs: map[string]string{"username": name}}
		c := plan.Change{Action: action, Kind: plan.KindUser, Key: o.Key, ID: id, After: o, Payload: fmt.Appendf(nil, `{"id":%q,"username":%q}`, id, name)}
		if action != plan.Create {
			c.Before = &plan.Object{Kind: plan.KindUser, ID: id, Name: name, Version: "v1"}
		}
		return c
	}
	group := func(payload string, members ...string) plan.Change {
		return plan.Change{Action: plan.Create, Kind: plan.KindGroup, Key: "k-g", ID: "g",
			After:   &plan.Object{Kind: plan.KindGroup, Key: "k-g", ID: "g", Name: "ops", Lists: map[string][]string{"members": members}},
			Payload: []byte(payload)}
	}
	lists := func(members []string) map[string][]string {
		if members == nil {
			return nil
		}
		return map[string][]string{"members": members}
	}
	changed := func(action plan.Action, before, after []string) plan.Change {
		c := plan.Change{Action: action, Kind: plan.KindGroup, Key: "k-g", ID: "g",
			Before: &plan.Object{Kind: plan.KindGroup, ID: "g", Name: "ops", Lists: lists(before), Version: "v2"}}
		if action != plan.Delete {
			c.After = &plan.Object{Kind: plan.KindGroup, Key: "k-g", ID: "g", Name: "ops", Lists: lists(after)}
			c.Payload = []byte(`{"id":"g"}`)
		}
		if action == plan.Rename {
			c.After.Name = "operations"
		}
		return c
	}
	users := []plan.Change{user(plan.Create, "u-1", "ann"), user(plan.Create, "u-2", "ben"), user(plan.Update, "u-3", "cy")}
	tests := map[string]struct {
		changes []plan.Change // after users, unless first
		first   bool          // changes come before users
		want    []plan.Change // what Read returns for changes; nil: changes
		line    []string      // what the line of the last of changes holds
	}{
		"members are earlier changes": {
			changes: []plan.Change{group(`{"id":"g","name":"ops","users":["u-1","u-2","u-3"]}`, "u-1", "u-2", "u-3")},
			line:    []string{`"list_refs":{"members":{"refs":[0,1,2]}}`, `"payload":{"id":"g","name":"ops","users":null}`, `"payload_lists":{"members":"users"}`},
		},
		"some members are not changes": {
			changes: []plan.Change{group(`{"users":["u-0","u-2","x"]}`, "u-0", "u-2", "x")},
			line:    []string{`"list_refs":{"members":{"refs":[-1,1,-2],"others":["u-0","x"]}}`, `"payload":{"users":null}`},
		},
		"a member twice": {
			changes: []plan.Change{group(`{"users":["u-1","u-1","u-3"]}`, "u-1", "u-1", "u-3")},
			line:    []string{`"refs":[0,0,2]`},
		},
		"members not sorted": {
			changes: []plan.Change{group(`{"users":["u-2","x","u-1","a"]}`, "u-2", "x", "u-1", "a")},
			line:    []string{`"list_refs":{"members":{"refs":[1,-1,0,-2],"others":["x","a"]}}`, `"payload":{"users":null}`},
		},
		"no member is a change": {
			changes: []plan.Change{group(`{"users":["x","u-9"]}`, "x", "u-9")},
			line:    []string{`"lists":{"members":["x","u-9"]}`, `"payload":{"users":null}`},
		},
		"members are later changes": {
			changes: []plan.Change{group(`{"users":["u-1","u-2"]}`, "u-1", "u-2")},
			first:   true,
			line:    []string{`"lists":{"members":["u-1","u-2"]}`, `"payload":{"users":null}`},
		},
		"an id two changes have": {
			changes: []plan.Change{user(plan.Update, "u-2", "ben"), group(`{"users":["u-2"]}`, "u-2")},
			line:    []string{`"refs":[1]`},
		},
		"values json.Marshal escapes": {
			changes: []plan.Change{group(`{"users":["\u003cb\u003e","a\u0026b","u-1","é"]}`, "<b>", "a&b", "u-1", "é")},
			line:    []string{`"others":["<b>","a&b","é"]`, `"payload":{"users":null}`},
		},
		"payload holds another list": {
			changes: []plan.Change{group(`{"users":["u-1","u-3"]}`, "u-1", "u-2")},
			line:    []string{`"payload":{"users":["u-1","u-3"]}`},
		},
		"payload holds a longer list": {
			changes: []plan.Change{group(`{"users":["u-1","u-2","u-3"]}`, "u-1", "u-2")},
			line:    []string{`"payload":{"users":["u-1","u-2","u-3"]}`},
		},
		"payload holds a shorter list": {
			changes: []plan.Change{group(`{"users":["u-1"]}`, "u-1", "u-2")},
			line:    []string{`"payload":{"users":["u-1"]}`},
		},
		"no members": {
			changes: []plan.Change{group(`{"users":[]}`)},
			line:    []string{`"payload":{"users":[]}`},
		},
		"payload holds the list nested": {
			changes: []plan.Change{group(`{"spec":{"users":["u-1","u-2"]}}`, "u-1", "u-2")},
			line:    []string{`"payload":{"spec":{"users":["u-1","u-2"]}}`},
		},
		"payload holds the list twice": {
			changes: []plan.Change{group(`{"a":["u-1","u-2"],"users":["u-1","u-2"]}`, "u-1", "u-2")},
			line:    []string{`"payload":{"a":null,"users":["u-1","u-2"]}`, `"payload_lists":{"members":"a"}`},
		},
		"payload has the key twice": {
			changes: []plan.Change{group(`{"users":["u-1","u-2"],"users":["u-1","u-2"]}`, "u-1", "u-2")},
			line:    []string{`"payload":{"users":["u-1","u-2"],"users":["u-1","u-2"]}`},
		},
		"payload key escaped": {
			changes: []plan.Change{group(`{"us\u0065rs":["u-1","u-2"]}`, "u-1", "u-2")},
			line:    []string{`"payload":{"us\u0065rs":["u-1","u-2"]}`},
		},
		"update": {
			changes: []plan.Change{changed(plan.Update, []string{"u-1", "u-2", "u-9"}, []string{"u-2", "u-3"})},
			want:    []plan.Change{changed(plan.Update, []string{"u-1", "u-9"}, []string{"u-3"})},
			line:    []string{`"list_refs":{"members":{"refs":[0,-1],"others":["u-9"]}}`, `"list_refs":{"members":{"refs":[2]}}`},
		},
		"rename": {
			changes: []plan.Change{changed(plan.Rename, []string{"u-1"}, []string{"u-1", "u-2"})},
			want:    []plan.Change{changed(plan.Rename, nil, []string{"u-2"})},
		},
		"adopt": {
			changes: []plan.Change{changed(plan.Adopt, []string{"x"}, []string{"u-1", "x"})},
			want:    []plan.Change{changed(plan.Adopt, nil, []string{"u-1"})},
		},
		"delete": {
			changes: []plan.Change{changed(plan.Delete, []string{"u-1", "u-2"}, nil)},
			want:    []plan.Change{changed(plan.Delete, nil, nil)},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			wantChanges := tt.want
			if wantChanges == nil {
				wantChanges = tt.changes
			}
			p := &plan.Plan{Changes: slices.Concat(users, tt.changes)}
			want := &plan.Plan{FormatVersion: plan.FormatVersion, Changes: slices.Concat(users, wantChanges)}
			if tt.first {
				p.Changes = slices.Concat(tt.changes, users)
				want.Changes = slices.Concat(wantChanges, users)
			}
			var buf bytes.Buffer
			if err := plan.Write(&buf, p, key); err != nil {
				t.Fatal(err)
			}
			text := gunzip(t, buf.Bytes())
			lines := strings.Split(text, "\n")
			last := lines[len(lines)-3] // then the trailer and ""
			if tt.first {
				last = lines[len(tt.changes)]
			}
			for _, s := range tt.line {
				if !strings.Contains(last, s) {
					t.Errorf("the change's line lacks %s:\n%s", s, last)
				}
			}
			got, err := plan.Read(&buf, key)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("round trip (-want +got):\n%s", d)
			}
		})
	}
}

// TestFileRoundTripBenchPlan reads back a plan shaped as make bench's
// (see createPlan) exactly, and stores no member id that an earlier
// change has twice.
func TestFileRoundTripBenchPlan(t *testing.T) {
	p := createPlan(3000) // more changes than Decode reads ahead
	var buf bytes.Buffer
	if err := plan.Write(&buf, p, key); err != nil {
		t.Fatal(err)
	}
	text := gunzip(t, buf.Bytes())
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, `"kind":"group"`) && strings.Contains(line, p.Changes[0].ID) {
			t.Fatalf("a group's line names a user change's id:\n%.500s", line)
		}
	}
	got, err := plan.Read(&buf, key)
	if err != nil {
		t.Fatal(err)
	}
	p.FormatVersion = plan.FormatVersion
	if reflect.DeepEqual(p, got) {
		return
	}
	// cmp.Diff of the whole plan takes minutes: show the first change
	// that differs.
	if len(got.Changes) != len(p.Changes) {
		t.Fatalf("read %d changes, want %d", len(got.Changes), len(p.Changes))
	}
	for i := range p.Changes {
		if d := cmp.Diff(p.Changes[i], got.Changes[i]); d != "" {
			t.Fatalf("change %d (-want +got):\n%s", i, d)
		}
	}
	p.Changes, got.Changes = nil, nil
	t.Errorf("header (-want +got):\n%s", cmp.Diff(p, got))
}

// failingWriter takes n bytes, then fails.
type failingWriter struct{ n int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.n -= len(p); w.n < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestWriteReturnsWriteErrors(t *testing.T) {
	for _, n := range []int{0, 100, 10000} {
		if err := plan.Write(&failingWriter{n: n}, createPlan(200), key); err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Errorf("after %d bytes: error %v, want the writer's", n, err)
		}
	}
}

// TestDecodeStopsAtCallbackError checks that Decode, which unmarshals
// ahead, still passes changes in order and stops at the first error a
// callback returns.
func TestDecodeStopsAtCallbackError(t *testing.T) {
	p := createPlan(3000)
	var buf bytes.Buffer
	if err := plan.Write(&buf, p, key); err != nil {
		t.Fatal(err)
	}
	stop := errors.New("enough")
	n := 0
	err := plan.Decode(&buf, key, func(*plan.Plan) error { return nil }, func(c *plan.Change) error {
		if c.ID != p.Changes[n].ID {
			t.Fatalf("change %d is %s, want %s", n, c.ID, p.Changes[n].ID)
		}
		if n++; n == 1000 {
			return stop
		}
		return nil
	})
	if err != stop || n != 1000 {
		t.Errorf("Decode returned %v after %d changes, want the callback's error after 1000", err, n)
	}
}

// groupPlan creates two users and a group holding both.
func groupPlan() *plan.Plan {
	return &plan.Plan{Changes: []plan.Change{
		{Action: plan.Create, Kind: plan.KindUser, Key: "k1", ID: "u-1", After: &plan.Object{Kind: plan.KindUser, Key: "k1", ID: "u-1", Name: "ann"}},
		{Action: plan.Create, Kind: plan.KindUser, Key: "k2", ID: "u-2", After: &plan.Object{Kind: plan.KindUser, Key: "k2", ID: "u-2", Name: "ben"}},
		{Action: plan.Create, Kind: plan.KindGroup, Key: "k3", ID: "g", Payload: []byte(`{"users":["u-1","u-2"]}`),
			After: &plan.Object{Kind: plan.KindGroup, Key: "k3", ID: "g", Name: "ops", Lists: map[string][]string{"members": {"u-1", "u-2"}}}},
	}}
}

// TestFileRejectsBadListRefs edits the stored lists and recomputes the
// checksum: without the state's key a broken edit is corruption, and with
// it any edit is tampering.
func TestFileRejectsBadListRefs(t *testing.T) {
	p := groupPlan()
	var buf bytes.Buffer
	if err := plan.Write(&buf, p, key); err != nil {
		t.Fatal(err)
	}
	good := gunzip(t, buf.Bytes())
	for _, s := range []string{`"list_refs":{"members":{"refs":[0,1]}}`, `"payload":{"users":null}`, `"payload_lists":{"members":"users"}`} {
		if !strings.Contains(good, s) {
			t.Fatalf("the file lacks %s:\n%s", s, good)
		}
	}
	tests := map[string]struct{ from, to, msg string }{
		"ref past the changes before it": {`"refs":[0,1]`, `"refs":[0,2]`, "a ref past the 2 changes"},
		"ref to a missing other":         {`"refs":[0,1]`, `"refs":[1,-1]`, "the ref -1 names a value past the 0 others"},
		"others out of order":            {`"refs":[0,1]}`, `"refs":[-2,0,-1],"others":["a","b"]}`, "the ref -2 is out of order: the next of others is -1"},
		"an other not in refs":           {`"refs":[0,1]}`, `"refs":[0,-1],"others":["a","b"]}`, "the refs name 1 of its 2 others"},
		"no refs":                        {`"refs":[0,1]`, `"refs":[]`, "no refs"},
		"list stored twice":              {`"list_refs"`, `"lists":{"members":["x"]},"list_refs"`, `"members" is in both lists and list_refs`},
		"payload list not in after":      {`"payload_lists":{"members"`, `"payload_lists":{"other"`, `names the list "other"`},
		"payload member not null":        {`"users":null`, `"users":0`, `"users", which the payload does not hold once, as null`},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			bad := resum(t, strings.Replace(good, tt.from, tt.to, 1))
			_, err := plan.Read(strings.NewReader(bad), nil)
			if !errors.Is(err, plan.ErrCorrupt) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error = %v, want ErrCorrupt mentioning %q", err, tt.msg)
			}
		})
	}
	// An edit that still decodes (the group gets ann twice) is caught by
	// the signature.
	edited := resum(t, strings.Replace(good, `"refs":[0,1]`, `"refs":[0,0]`, 1))
	if _, err := plan.Read(strings.NewReader(edited), nil); err != nil {
		t.Fatalf("the edit does not decode: %v", err)
	}
	if _, err := plan.Read(strings.NewReader(edited), key); !errors.Is(err, plan.ErrTampered) {
		t.Errorf("edited refs: error = %v, want ErrTampered", err)
	}
}

// TestFileRestoresListsInOrder: member lists come back whole and in
// their order, sorted or not, with members that are not changes and a
// member twice mixed in.
func TestFileRestoresListsInOrder(t *testing.T) {
	user := func(id string) plan.Change {
		return plan.Change{Action: plan.Create, Kind: plan.KindUser, Key: "k-" + id, ID: id,
			After: &plan.Object{Kind: plan.KindUser, Key: "k-" + id, ID: id, Name: id}}
	}
	group := func(id string, members ...string) plan.Change {
		return plan.Change{Action: plan.Create, Kind: plan.KindGroup, Key: "k-" + id, ID: id,
			After: &plan.Object{Kind: plan.KindGroup, Key: "k-" + id, ID: id, Name: id, Lists: map[string][]string{"members": members}}}
	}
	p := samplePlan()
	p.Changes = nil
	var ids []string
	for _, id := range []string{"u-m", "u-c", "u-x", "u-a", "u-q", "u-b", "u-z", "u-d"} {
		p.Changes = append(p.Changes, user(id))
		ids = append(ids, id)
	}
	p.Changes = append(p.Changes, group("g-1", "u-a", "u-b", "u-c", "u-d", "u-m", "u-m", "u-q", "u-x", "u-z", "x-0", "x-zz"))
	p.Changes = append(p.Changes, user("u-k"), user("u-e"))
	p.Changes = append(p.Changes, group("g-2", "u-k", "u-a", "v-1", "u-e"), group("g-3", "u-z", "a-0", "u-b", "u-z", "a-0"))
	var buf bytes.Buffer
	if err := plan.Write(&buf, p, key); err != nil {
		t.Fatal(err)
	}
	if text := gunzip(t, buf.Bytes()); strings.Count(text, `"list_refs"`) != 3 {
		t.Fatalf("the groups' lists were not stored as refs:\n%s", text)
	}
	got, err := plan.Read(bytes.NewReader(buf.Bytes()), key)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range p.Changes {
		if c.Kind != plan.KindGroup {
			continue
		}
		if d := cmp.Diff(c.After.Lists, got.Changes[i].After.Lists); d != "" {
			t.Errorf("%s's lists (-want +got):\n%s", c.ID, d)
		}
	}
}

// TestFileReadsLenientLines: a payload is stored as the provider built
// it, and one holding bytes that are not UTF-8 (a Latin-1 value passed
// through) still reads back, byte for byte, as encoding/json read it.
func TestFileReadsLenientLines(t *testing.T) {
	p := samplePlan()
	p.Changes[0].Payload = []byte("{\"id\":\"u-alice\",\"note\":\"caf\xe9\"}")
	var buf bytes.Buffer
	if err := plan.Write(&buf, p, key); err != nil {
		t.Fatal(err)
	}
	got, err := plan.Read(bytes.NewReader(buf.Bytes()), key)
	if err != nil {
		t.Fatalf("a plan whose payload holds a byte that is not UTF-8: %v", err)
	}
	if !bytes.Equal(got.Changes[0].Payload, p.Changes[0].Payload) {
		t.Errorf("payload read back as %q, want %q", got.Changes[0].Payload, p.Changes[0].Payload)
	}
}
