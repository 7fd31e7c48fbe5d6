package plan_test

import (
	"fmt"
	"io"
	"testing"

	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/plan/plantest"
)

// benchInput builds n users and n/50 groups of about 1,000 members each,
// the shape `make bench` uses, with every object bound and current.
func benchInput(n int, changed int) plan.Input {
	in := plan.Input{Bindings: plan.Bindings{}}
	groups := max(n/50, 1)
	members := make([][]string, groups)
	for i := range n {
		id := fmt.Sprintf("00000000-0000-5000-8000-%012d", i)
		key := fmt.Sprintf("k-%d", i)
		attrs := map[string]string{"username": fmt.Sprintf("user%06d", i), "full_name": "Some Body", "email": fmt.Sprintf("user%06d@example.com", i), "default_channel": "0b4e2a9e-3f5d-4c1a-9d6e-2f7a8b9c0d1e"}
		in.Desired = append(in.Desired, &plan.Object{Kind: plan.KindUser, Key: key, ID: id, Name: attrs["username"], Attrs: attrs})
		cur := map[string]string{}
		for k, v := range attrs {
			cur[k] = v
		}
		if i < changed {
			cur["email"] = "old@example.com"
		}
		in.Current = append(in.Current, &plan.Object{Kind: plan.KindUser, ID: id, Name: attrs["username"], Attrs: cur, Version: "v"})
		in.Bindings.Add(plan.Binding{Kind: plan.KindUser, Key: key, ID: id, Name: attrs["username"]})
		for j := range 20 {
			g := (i*7 + j*13) % groups
			members[g] = append(members[g], id)
		}
	}
	for g := range groups {
		id := fmt.Sprintf("00000000-0000-5000-9000-%012d", g)
		key := fmt.Sprintf("g-%d", g)
		name := fmt.Sprintf("group%05d", g)
		in.Desired = append(in.Desired, &plan.Object{Kind: plan.KindGroup, Key: key, ID: id, Name: name, Lists: map[string][]string{"members": members[g]}})
		in.Current = append(in.Current, &plan.Object{Kind: plan.KindGroup, ID: id, Name: name, Lists: map[string][]string{"members": members[g]}, Version: "v"})
		in.Bindings.Add(plan.Binding{Kind: plan.KindGroup, Key: key, ID: id, Name: name})
	}
	return in
}

func BenchmarkDiffInSync(b *testing.B) {
	for _, n := range []int{10000, 100000} {
		in := benchInput(n, 0)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for b.Loop() {
				cs, err := plan.Diff(in)
				if err != nil || len(cs) != 0 {
					b.Fatal(err, len(cs))
				}
			}
		})
	}
}

// BenchmarkRender renders the plan of 100,000 creates as plan does after
// the reads (text to the terminal) and as show --json does.
func BenchmarkRender(b *testing.B) {
	p := plantest.CreatePlan(100000)
	for _, f := range []plan.Format{plan.FormatText, plan.FormatJSON} {
		b.Run(string(f)+"-100000", func(b *testing.B) {
			for b.Loop() {
				if err := plan.Render(io.Discard, p, f, plan.RenderOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
