package plan_test

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/plan/plantest"
)

// TestMarkdownDeletesFirst: a plan's deletes are listed in a caution
// callout before its warnings and sections, each with its key and its
// values but never a secret one.
func TestMarkdownDeletesFirst(t *testing.T) {
	md := renderMarkdown(t, plantest.SamplePlan(), plan.RenderOptions{})
	callout := strings.Index(md, "\n> [!CAUTION]\n")
	if callout < 0 || callout > strings.Index(md, "> **Warning:**") || callout > strings.Index(md, "<details>") {
		t.Fatalf("no caution callout before the warnings and sections:\n%s", md)
	}
	for _, want := range []string{
		"> **This plan destroys 1 user and 1 group.**",
		"> - user `dave` — key `k-dave`, email `dave@example.com`, full_name `Dave Roe`\n",
		"> - group `old-team` — key `k-old`\n",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the callout lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "h3") {
		t.Error("a sensitive value's hash is shown")
	}
	// An attribute holding another object's id says what the object
	// uses, not which one it is: the callout leaves it out.
	p := plantest.SamplePlan()
	p.Refs.Attrs = []string{"email"}
	md = renderMarkdown(t, p, plan.RenderOptions{})
	if !strings.Contains(md, "> - user `dave` — key `k-dave`, full_name `Dave Roe`\n") {
		t.Errorf("the callout names a reference attribute:\n%s", md)
	}
	for i := range 2 {
		p := plantest.SamplePlan()
		p.Changes = p.Changes[:0]
		if i == 1 {
			p = plantest.CreatePlan(10)
		}
		if md := renderMarkdown(t, p, plan.RenderOptions{}); strings.Contains(md, "CAUTION") {
			t.Errorf("a plan without deletes has a callout:\n%s", md)
		}
	}
}

// TestMarkdownManyDeletes: thousands of deletes take at most a quarter
// of the budget, and at most 50 lines, in the callout, which says how
// many it left out.
func TestMarkdownManyDeletes(t *testing.T) {
	p := plantest.SamplePlan()
	p.Changes = nil
	for i := range 3000 {
		id := fmt.Sprintf("u-%05d", i)
		p.Changes = append(p.Changes, plan.Change{Action: plan.Delete, Kind: plan.KindUser, Key: "k" + id, ID: id,
			Before: &plan.Object{Kind: plan.KindUser, ID: id, Name: fmt.Sprintf("user%05d", i), Attrs: map[string]string{"email": fmt.Sprintf("user%05d@example.com", i)}}})
	}
	const budget = 20_000
	md := renderMarkdown(t, p, plan.RenderOptions{MaxChars: budget})
	if n := utf8.RuneCountInString(md); n > budget {
		t.Errorf("%d characters, budget %d", n, budget)
	}
	callout := md[strings.Index(md, "> [!CAUTION]"):strings.Index(md, "<details>")]
	m := regexp.MustCompile(`> … and (\d+) more \(full plan in the job's artifacts\)`).FindStringSubmatch(callout)
	if m == nil {
		t.Fatalf("the callout does not say how many it left out:\n%s", callout)
	}
	more, _ := strconv.Atoi(m[1])
	shown := strings.Count(callout, "> - user `")
	if shown+more != 3000 || shown == 0 {
		t.Errorf("the callout shows %d and says %d more, want 3000 in all", shown, more)
	}
	if n := utf8.RuneCountInString(callout); n > budget/4 || n < budget/8 {
		t.Errorf("the callout takes %d characters of %d", n, budget)
	}
	checkSections(t, md)
	// However large the budget, the callout lists at most 50.
	md = renderMarkdown(t, p, plan.RenderOptions{MaxChars: 1_000_000})
	callout = md[strings.Index(md, "> [!CAUTION]"):strings.Index(md, "<details>")]
	if n := strings.Count(callout, "> - user `"); n != 50 || !strings.Contains(callout, "> … and 2950 more") {
		t.Errorf("with a budget of 1,000,000 the callout lists %d deletes:\n%.300s", n, callout)
	}
}

// TestRemovedMemberDetail: a member leaving a group is named as one
// joining it is, with the nested group it came through, in the text
// diff and in the Markdown.
func TestRemovedMemberDetail(t *testing.T) {
	for _, format := range []plan.Format{plan.FormatText, plan.FormatMarkdown} {
		var buf bytes.Buffer
		if err := plan.Render(&buf, plantest.SamplePlan(), format, plan.RenderOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"+ alice (via dev)", "- dave (via dev)"} {
			if !regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(want[:1]) + `\s+` + regexp.QuoteMeta(want[2:]) + `$`).Match(buf.Bytes()) {
				t.Errorf("%s: no line %q:\n%s", format, want, buf.String())
			}
		}
	}
}
