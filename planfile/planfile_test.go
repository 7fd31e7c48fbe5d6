package planfile_test

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
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/plan/plantest"
	"github.com/ldapply/ldapply/planfile"
)

func samplePlan() *plan.Plan { return plantest.SamplePlan() }

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
	if err := planfile.Write(&buf, p, key); err != nil {
		t.Fatal(err)
	}
	got, err := planfile.Read(bytes.NewReader(buf.Bytes()), key)
	if err != nil {
		t.Fatal(err)
	}
	p.FormatVersion = planfile.FormatVersion
	if d := cmp.Diff(p, got); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
}

func TestFileRejects(t *testing.T) {
	var buf bytes.Buffer
	if err := planfile.Write(&buf, samplePlan(), key); err != nil {
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
		"truncated": {file: strings.Join(lines[:3], ""), want: planfile.ErrCorrupt},
		"bad change, then cut": {
			file: lines[0] + "{\"action\":1}\n" + strings.Join(lines[2:4], ""),
			want: planfile.ErrCorrupt, msg: "change 1:",
		},
		"truncated gzip":   {file: string(compressed[:len(compressed)/2]), want: planfile.ErrCorrupt},
		"edited value":     {file: strings.Replace(good, `"alice@example.com"`, `"mallory@example.com"`, 1), want: planfile.ErrCorrupt},
		"not a plan":       {file: "hello\n", want: planfile.ErrCorrupt},
		"empty":            {file: "", want: planfile.ErrCorrupt},
		"trailing garbage": {file: good + "x", want: planfile.ErrCorrupt},
		"other state key":  {file: good, key: []byte("another key"), want: planfile.ErrTampered},
		"future format": {
			file: strings.Replace(good, fmt.Sprintf(`"format_version":%d`, planfile.FormatVersion), `"format_version":9`, 1),
			msg:  "format version 9",
		},
		// Version 3 stored each change's request body; plans are
		// short-lived, so it is refused rather than read.
		"previous format": {
			file: strings.Replace(good, fmt.Sprintf(`"format_version":%d`, planfile.FormatVersion), `"format_version":3`, 1),
			msg:  "format version 3, and this ldapply reads only version 4: use the ldapply version that made it, or run plan again",
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			k := tt.key
			if k == nil {
				k = key
			}
			_, err := planfile.Read(strings.NewReader(tt.file), k)
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
	if err := planfile.Write(&forged, p, []byte("guessed")); err != nil {
		t.Fatal(err)
	}
	if _, err := planfile.Read(&forged, key); !errors.Is(err, planfile.ErrTampered) {
		t.Errorf("forged plan: error = %v, want ErrTampered", err)
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
// references to earlier changes, as it is, and, in a Before that has an
// After, as its difference from After's list. Read must return what
// apply builds its requests from: After's lists whole and in order, and
// Before's as the same sets (sorted, as providers keep them).
func TestFileListRoundTrip(t *testing.T) {
	user := func(action plan.Action, id, name string) plan.Change {
		o := &plan.Object{Kind: plan.KindUser, Key: "k-" + name, ID: id, Name: name, Attrs: map[string]string{"username": name}}
		c := plan.Change{Action: action, Kind: plan.KindUser, Key: o.Key, ID: id, After: o}
		if action != plan.Create {
			c.Before = &plan.Object{Kind: plan.KindUser, ID: id, Name: name, Version: "v1"}
		}
		return c
	}
	group := func(members ...string) plan.Change {
		return plan.Change{Action: plan.Create, Kind: plan.KindGroup, Key: "k-g", ID: "g",
			After: &plan.Object{Kind: plan.KindGroup, Key: "k-g", ID: "g", Name: "ops", Lists: map[string][]string{"members": members}}}
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
			changes: []plan.Change{group("u-1", "u-2", "u-3")},
			line:    []string{`"list_refs":{"members":{"refs":[0,1,2]}}`},
		},
		"some members are not changes": {
			changes: []plan.Change{group("u-0", "u-2", "x")},
			line:    []string{`"list_refs":{"members":{"refs":[-1,1,-2],"others":["u-0","x"]}}`},
		},
		"a member twice": {
			changes: []plan.Change{group("u-1", "u-1", "u-3")},
			line:    []string{`"refs":[0,0,2]`},
		},
		"members not sorted": {
			changes: []plan.Change{group("u-2", "x", "u-1", "a")},
			line:    []string{`"list_refs":{"members":{"refs":[1,-1,0,-2],"others":["x","a"]}}`},
		},
		"no member is a change": {
			changes: []plan.Change{group("x", "u-9")},
			line:    []string{`"lists":{"members":["x","u-9"]}`},
		},
		"members are later changes": {
			changes: []plan.Change{group("u-1", "u-2")},
			first:   true,
			line:    []string{`"lists":{"members":["u-1","u-2"]}`},
		},
		"an id two changes have": {
			changes: []plan.Change{user(plan.Update, "u-2", "ben"), group("u-2")},
			line:    []string{`"refs":[1]`},
		},
		"values to escape": {
			changes: []plan.Change{group("<b>", "a&b", "u-1", "é", `"q"`)},
			line:    []string{`"others":["<b>","a&b","é","\"q\""]`},
		},
		"no members": {
			changes: []plan.Change{group()},
			line:    []string{`"lists":{"members":null}`},
		},
		"update": {
			changes: []plan.Change{changed(plan.Update, []string{"u-1", "u-2", "u-9"}, []string{"u-2", "u-3"})},
			line:    []string{`"list_diffs":{"members":{"added":["u-3"],"removed":["u-1","u-9"]}}`, `"list_refs":{"members":{"refs":[1,2]}}`},
		},
		"update of other attributes": {
			changes: []plan.Change{changed(plan.Update, []string{"u-1", "x"}, []string{"u-1", "x"})},
			line:    []string{`"list_diffs":{"members":{}}`},
		},
		"update adding a list": {
			changes: []plan.Change{changed(plan.Update, nil, []string{"x"})},
		},
		"update removing a list": {
			changes: []plan.Change{changed(plan.Update, []string{"x", "y"}, nil)},
			line:    []string{`"list_diffs":{"members":{"removed":["x","y"]}}`},
		},
		"before not sorted": {
			changes: []plan.Change{changed(plan.Update, []string{"y", "x", "x"}, []string{"x", "z"})},
			want:    []plan.Change{changed(plan.Update, []string{"x", "y"}, []string{"x", "z"})},
		},
		"rename": {
			changes: []plan.Change{changed(plan.Rename, []string{"u-1"}, []string{"u-1", "u-2"})},
		},
		"adopt": {
			changes: []plan.Change{changed(plan.Adopt, []string{"x"}, []string{"u-1", "x"})},
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
			want := &plan.Plan{FormatVersion: planfile.FormatVersion, Changes: slices.Concat(users, wantChanges)}
			if tt.first {
				p.Changes = slices.Concat(tt.changes, users)
				want.Changes = slices.Concat(wantChanges, users)
			}
			var buf bytes.Buffer
			if err := planfile.Write(&buf, p, key); err != nil {
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
			got, err := planfile.Read(&buf, key)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("round trip (-want +got):\n%s", d)
			}
		})
	}
}

// TestFileRejectsMisplacedLists: lists where the writer never puts them
// are corruption, not values to read: a Before that has an After holds
// its lists only as list_diffs, a delete's Before none, an After no
// list_diffs.
func TestFileRejectsMisplacedLists(t *testing.T) {
	p := &plan.Plan{Changes: []plan.Change{
		{Action: plan.Update, Kind: plan.KindGroup, Key: "k", ID: "g",
			Before: &plan.Object{Kind: plan.KindGroup, ID: "g", Name: "ops", Lists: map[string][]string{"members": {"x"}}, Version: "v"},
			After:  &plan.Object{Kind: plan.KindGroup, Key: "k", ID: "g", Name: "ops", Lists: map[string][]string{"members": {"y"}}}},
		{Action: plan.Delete, Kind: plan.KindGroup, Key: "k2", ID: "g2",
			Before: &plan.Object{Kind: plan.KindGroup, ID: "g2", Name: "old", Version: "v"}},
	}}
	var buf bytes.Buffer
	if err := planfile.Write(&buf, p, key); err != nil {
		t.Fatal(err)
	}
	good := gunzip(t, buf.Bytes())
	diffs := `"list_diffs":{"members":{"added":["y"],"removed":["x"]}}`
	if !strings.Contains(good, diffs) {
		t.Fatalf("the file lacks %s:\n%s", diffs, good)
	}
	for name, tt := range map[string]struct{ from, to, msg string }{
		"before with lists":     {diffs, `"lists":{"members":["x"]}`, "lists stored otherwise than as list_diffs"},
		"delete with lists":     {`"name":"old"`, `"name":"old","lists":{"members":["x"]}`, "a delete's before holds lists"},
		"after with list_diffs": {`"lists":{"members":["y"]}`, `"lists":{"members":["y"]},"list_diffs":{"a":{}}`, "only a before has"},
		"list_diffs, no after":  {`"name":"old"`, `"name":"old","list_diffs":{"a":{}}`, "list_diffs without an after"},
	} {
		t.Run(name, func(t *testing.T) {
			bad := resum(t, strings.Replace(good, tt.from, tt.to, 1))
			_, err := planfile.Read(strings.NewReader(bad), nil)
			if !errors.Is(err, planfile.ErrCorrupt) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error = %v, want ErrCorrupt mentioning %q", err, tt.msg)
			}
		})
	}
}

// TestFileRoundTripBenchPlan reads back a plan shaped as make bench's
// (see plantest.CreatePlan) exactly, and stores no member id that an earlier
// change has twice.
func TestFileRoundTripBenchPlan(t *testing.T) {
	p := plantest.CreatePlan(3000) // more changes than Decode reads ahead
	var buf bytes.Buffer
	if err := planfile.Write(&buf, p, key); err != nil {
		t.Fatal(err)
	}
	text := gunzip(t, buf.Bytes())
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, `"kind":"group"`) && strings.Contains(line, p.Changes[0].ID) {
			t.Fatalf("a group's line names a user change's id:\n%.500s", line)
		}
	}
	got, err := planfile.Read(&buf, key)
	if err != nil {
		t.Fatal(err)
	}
	p.FormatVersion = planfile.FormatVersion
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

// TestWriteReturnsWriteErrors: the writer's error comes back, from the
// sequential writer (200 users) and from the line maker (3,000 on four
// cores), wherever it happens.
func TestWriteReturnsWriteErrors(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	for _, users := range []int{200, 3000} {
		p := plantest.CreatePlan(users)
		var whole bytes.Buffer
		if err := planfile.Write(&whole, p, key); err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{0, 100, whole.Len() / 2, whole.Len() - 1} {
			if err := planfile.Write(&failingWriter{n: n}, p, key); err == nil || !strings.Contains(err.Error(), "disk full") {
				t.Errorf("%d users, after %d bytes: error %v, want the writer's", users, n, err)
			}
		}
	}
}

// TestDecodeStopsAtCallbackError checks that Decode, which unmarshals
// ahead, still passes changes in order and stops at the first error a
// callback returns.
func TestDecodeStopsAtCallbackError(t *testing.T) {
	p := plantest.CreatePlan(3000)
	var buf bytes.Buffer
	if err := planfile.Write(&buf, p, key); err != nil {
		t.Fatal(err)
	}
	stop := errors.New("enough")
	n := 0
	err := planfile.Decode(&buf, key, func(*plan.Plan) error { return nil }, func(c *plan.Change) error {
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
		{Action: plan.Create, Kind: plan.KindGroup, Key: "k3", ID: "g",
			After: &plan.Object{Kind: plan.KindGroup, Key: "k3", ID: "g", Name: "ops", Lists: map[string][]string{"members": {"u-1", "u-2"}}}},
	}}
}

// TestFileRejectsBadListRefs edits the stored lists and recomputes the
// checksum: without the state's key a broken edit is corruption, and with
// it any edit is tampering.
func TestFileRejectsBadListRefs(t *testing.T) {
	p := groupPlan()
	var buf bytes.Buffer
	if err := planfile.Write(&buf, p, key); err != nil {
		t.Fatal(err)
	}
	good := gunzip(t, buf.Bytes())
	for _, s := range []string{`"list_refs":{"members":{"refs":[0,1]}}`} {
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
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			bad := resum(t, strings.Replace(good, tt.from, tt.to, 1))
			_, err := planfile.Read(strings.NewReader(bad), nil)
			if !errors.Is(err, planfile.ErrCorrupt) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error = %v, want ErrCorrupt mentioning %q", err, tt.msg)
			}
		})
	}
	// An edit that still decodes (the group gets ann twice) is caught by
	// the signature.
	edited := resum(t, strings.Replace(good, `"refs":[0,1]`, `"refs":[0,0]`, 1))
	if _, err := planfile.Read(strings.NewReader(edited), nil); err != nil {
		t.Fatalf("the edit does not decode: %v", err)
	}
	if _, err := planfile.Read(strings.NewReader(edited), key); !errors.Is(err, planfile.ErrTampered) {
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
	if err := planfile.Write(&buf, p, key); err != nil {
		t.Fatal(err)
	}
	if text := gunzip(t, buf.Bytes()); strings.Count(text, `"list_refs"`) != 3 {
		t.Fatalf("the groups' lists were not stored as refs:\n%s", text)
	}
	got, err := planfile.Read(bytes.NewReader(buf.Bytes()), key)
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

// TestFileHeaderEmptyFields: a header holding empty counts, warnings and
// refs reads as one that leaves them out, so that it reads back the same
// once written again.
func TestFileHeaderEmptyFields(t *testing.T) {
	for _, fields := range []string{`"counts":{},"warnings":[],"refs":{"names":{},"via":{}}`, `"refs":{"via":{"g":{}}}`, `"refs":null`} {
		text := resum(t, fmt.Sprintf("{\"format_version\":%d,%s}\n{\"checksum\":{\"changes\":0,\"sha256\":\"00\"}}\n", planfile.FormatVersion, fields))
		p, err := planfile.Read(strings.NewReader(text), nil)
		if err != nil {
			t.Fatalf("%s: %v", fields, err)
		}
		var buf bytes.Buffer
		if err := planfile.Write(&buf, p, key); err != nil {
			t.Fatal(err)
		}
		q, err := planfile.Read(&buf, key)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(p, q); d != "" {
			t.Errorf("%s: read again (-first +second):\n%s", fields, d)
		}
	}
}
