package plan_test

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"regexp"
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
		"truncated":        {file: strings.Join(lines[:3], ""), want: plan.ErrCorrupt},
		"truncated gzip":   {file: string(compressed[:len(compressed)/2]), want: plan.ErrCorrupt},
		"edited payload":   {file: strings.Replace(good, `"alice@example.com"`, `"mallory@example.com"`, 1), want: plan.ErrCorrupt},
		"not a plan":       {file: "hello\n", want: plan.ErrCorrupt},
		"empty":            {file: "", want: plan.ErrCorrupt},
		"trailing garbage": {file: good + "x", want: plan.ErrCorrupt},
		"other state key":  {file: good, key: []byte("another key"), want: plan.ErrTampered},
		"future format": {
			file: strings.Replace(good, `"format_version":1`, `"format_version":9`, 1),
			msg:  "format version 9",
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
