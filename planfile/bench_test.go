package planfile_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/plan/plantest"
	"github.com/ldapply/ldapply/planfile"
)

// BenchmarkPlanFile writes and reads the plan `make bench` makes for
// 100,000 users against an empty Icinga target (plantest.CreatePlan).
func BenchmarkPlanFile(b *testing.B) {
	p := plantest.CreatePlan(100000)
	key := []byte("k")
	var buf bytes.Buffer
	b.Run("write-100000", func(b *testing.B) {
		for b.Loop() {
			buf.Reset()
			if err := planfile.Write(&buf, p, key); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(buf.Len())/1e6, "MB")
	})
	// As apply or show would write it again: ids where the decoder put
	// them, not packed in order.
	scattered := plantest.Unpacked(p)
	b.Run("write-100000-unpacked", func(b *testing.B) {
		var out bytes.Buffer
		for b.Loop() {
			out.Reset()
			if err := planfile.Write(&out, scattered, key); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("read-100000", func(b *testing.B) {
		for b.Loop() {
			if _, err := planfile.Read(bytes.NewReader(buf.Bytes()), key); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("show-text-100000", func(b *testing.B) {
		for b.Loop() {
			r, _ := plan.NewRenderer(io.Discard, plan.FormatText, plan.RenderOptions{})
			if err := planfile.Decode(bytes.NewReader(buf.Bytes()), nil, r.Header, r.Change); err != nil {
				b.Fatal(err)
			}
			r.Close()
		}
	})
}
