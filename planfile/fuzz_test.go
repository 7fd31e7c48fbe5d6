package planfile_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/planfile"
)

// FuzzDecode feeds arbitrary bytes to the plan-file reader: it must never
// panic, and whatever it accepts must survive a write/read round trip
// unchanged.
func FuzzDecode(f *testing.F) {
	var buf bytes.Buffer
	if err := planfile.Write(&buf, samplePlan(), key); err != nil {
		f.Fatal(err)
	}
	good := buf.Bytes()
	f.Add(good)
	f.Add(good[:len(good)/2])
	var lists bytes.Buffer // list_refs and list_diffs
	if err := planfile.Write(&lists, listsPlan(), key); err != nil {
		f.Fatal(err)
	}
	f.Add(lists.Bytes())
	zr, err := gzip.NewReader(&lists) // uncompressed, the fuzzer's edits mean more
	if err != nil {
		f.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(plain)
	f.Add(fmt.Appendf(nil, "{\"format_version\":%d}\n{\"checksum\":{\"changes\":0}}\n", planfile.FormatVersion))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := planfile.Read(bytes.NewReader(data), nil)
		if err != nil {
			return
		}
		// Render every format: no input that passes the checksum may
		// break a renderer.
		for _, format := range []plan.Format{plan.FormatText, plan.FormatMarkdown, plan.FormatJSON} {
			if err := plan.Render(&bytes.Buffer{}, p, format, plan.RenderOptions{}); err != nil {
				t.Fatalf("render %s of an accepted plan: %v", format, err)
			}
		}
		var again bytes.Buffer
		if err := planfile.Write(&again, p, key); err != nil {
			t.Fatalf("write of an accepted plan: %v", err)
		}
		q, err := planfile.Read(&again, key)
		if err != nil {
			t.Fatalf("read back: %v", err)
		}
		if d := cmp.Diff(p, q); d != "" {
			t.Fatalf("round trip changed the plan:\n%s", d)
		}
	})
}

// listsPlan is groupPlan and an update of its group, whose Before's
// list is stored as list_diffs.
func listsPlan() *plan.Plan {
	p := groupPlan()
	p.Changes = append(p.Changes, plan.Change{Action: plan.Update, Kind: plan.KindGroup, Key: "k4", ID: "g2",
		Before: &plan.Object{Kind: plan.KindGroup, ID: "g2", Name: "dev", Lists: map[string][]string{"members": {"u-1", "x"}}, Version: "v"},
		After:  &plan.Object{Kind: plan.KindGroup, Key: "k4", ID: "g2", Name: "dev", Lists: map[string][]string{"members": {"u-2", "x"}}}})
	return p
}
