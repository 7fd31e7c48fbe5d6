package plan_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ldapply/ldapply/plan"
)

// FuzzDecode feeds arbitrary bytes to the plan-file reader: it must never
// panic, and whatever it accepts must survive a write/read round trip
// unchanged.
func FuzzDecode(f *testing.F) {
	var buf bytes.Buffer
	if err := plan.Write(&buf, samplePlan(), key); err != nil {
		f.Fatal(err)
	}
	good := buf.Bytes()
	f.Add(good)
	f.Add(good[:len(good)/2])
	var lists bytes.Buffer // list_refs and payload_lists
	if err := plan.Write(&lists, groupPlan(), key); err != nil {
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
	f.Add(fmt.Appendf(nil, "{\"format_version\":%d}\n{\"checksum\":{\"changes\":0}}\n", plan.FormatVersion))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := plan.Read(bytes.NewReader(data), nil)
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
		if err := plan.Write(&again, p, key); err != nil {
			t.Fatalf("write of an accepted plan: %v", err)
		}
		q, err := plan.Read(&again, key)
		if err != nil {
			t.Fatalf("read back: %v", err)
		}
		if d := cmp.Diff(p, q); d != "" {
			t.Fatalf("round trip changed the plan:\n%s", d)
		}
	})
}
