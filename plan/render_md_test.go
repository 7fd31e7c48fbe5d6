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

func renderMarkdown(t *testing.T, p *plan.Plan, opts plan.RenderOptions) string {
	t.Helper()
	var buf bytes.Buffer
	if err := plan.Render(&buf, p, plan.FormatMarkdown, opts); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

var (
	mdSection  = regexp.MustCompile(`(?s)<summary>(\d+) (\w+) (to \w+)</summary>\n\n` + "```diff\n(.*?)```")
	mdHeadline = regexp.MustCompile(`^(\+|-|~|~>|<=) \S`) // an attribute's marker is followed by spaces
	mdMore     = regexp.MustCompile(`(?m)^… and (\d+) more \(full plan in the job's artifacts\)$`)
)

// checkSections checks that every section lists its changes or says how
// many it left out, so that shown and left out add up to its count.
func checkSections(t *testing.T, md string) (cut bool) {
	t.Helper()
	if n := strings.Count(md, "```"); n%2 != 0 {
		t.Errorf("%d fences: a code block is left open", n)
	}
	for _, m := range mdSection.FindAllStringSubmatch(md, -1) {
		count, _ := strconv.Atoi(m[1])
		body := m[4]
		shown := 0
		for _, l := range strings.Split(body, "\n") {
			if mdHeadline.MatchString(l) {
				shown++
			}
		}
		more := 0
		if mm := mdMore.FindStringSubmatch(body); mm != nil {
			more, _ = strconv.Atoi(mm[1])
			cut = true
		}
		if shown+more != count {
			t.Errorf("section %q shows %d and says %d more, want %d in all", m[1]+" "+m[2]+" "+m[3], shown, more, count)
		}
	}
	return cut
}

// TestMarkdownLargePlanFitsGitHub: a plan of 20,400 creates, which
// rendered to 259,619 bytes before the budget, fits in a GitHub comment
// with its summary intact and every section cut visibly.
func TestMarkdownLargePlanFitsGitHub(t *testing.T) {
	p := plantest.CreatePlan(20000)
	md := renderMarkdown(t, p, plan.RenderOptions{})
	if n := utf8.RuneCountInString(md); n > plan.DefaultMarkdownChars || plan.DefaultMarkdownChars > 65536 {
		t.Fatalf("%d characters, budget %d: over the budget or GitHub's 65,536", n, plan.DefaultMarkdownChars)
	}
	var sum plan.Summary
	for i := range p.Changes {
		sum.Count(&p.Changes[i])
	}
	if !strings.HasPrefix(md, "**"+plan.SummaryLine(sum)+"**\n") {
		t.Errorf("the summary is not the first line: %.200s", md)
	}
	for _, s := range []string{"users to add</summary>", "groups to add</summary>"} {
		if !strings.Contains(md, s) {
			t.Errorf("no section %q", s)
		}
	}
	if !checkSections(t, md) {
		t.Error("no section says how many changes it left out")
	}
	// Member lists are cut too: a group of this plan has 400 members.
	if !regexp.MustCompile(`(?m)^ {9}… and \d+ more \(full plan`).MatchString(md) {
		t.Error("no member list is cut")
	}
}

// TestMarkdownEveryBudget: from the smallest budget to one larger than
// the whole plan, the Markdown never has more characters (Unicode code
// points, as GitHub counts) than the budget, uses most of it when it
// cuts, and shows everything once it fits.
func TestMarkdownEveryBudget(t *testing.T) {
	p := plantest.CreatePlan(1000)
	p.Warnings = []string{"user uid=ä,ou=people has no email address and is skipped"}
	full := utf8.RuneCountInString(renderMarkdown(t, p, plan.RenderOptions{MaxChars: 10_000_000}))
	budgets := []int{plan.MinMarkdownChars, plan.MinMarkdownChars + 1}
	for b := plan.MinMarkdownChars; b < 2*full; b = b*5/4 + 7 {
		budgets = append(budgets, b)
	}
	budgets = append(budgets, full-1, full, full+1)
	for _, b := range budgets {
		md := renderMarkdown(t, p, plan.RenderOptions{MaxChars: b})
		n := utf8.RuneCountInString(md)
		if n > b {
			t.Errorf("budget %d: %d characters", b, n)
		}
		if !strings.HasPrefix(md, "**Plan: 1020 to add,") || !strings.Contains(md, "has no email address") {
			t.Errorf("budget %d: summary or warning missing:\n%.300s", b, md)
		}
		cut := checkSections(t, md)
		switch {
		case b >= full && (cut || n != full):
			t.Errorf("budget %d, plan %d characters: %d shown, cut %t", b, full, n, cut)
		case b < full && (!cut || n < b/2):
			t.Errorf("budget %d, plan %d characters: only %d used, cut %t", b, full, n, cut)
		}
	}
	if _, err := plan.NewRenderer(&bytes.Buffer{}, plan.FormatMarkdown, plan.RenderOptions{MaxChars: plan.MinMarkdownChars - 1}); err == nil {
		t.Error("a budget below the minimum was accepted")
	}
}

// TestMarkdownManyWarnings: warnings take at most half the budget and
// say how many were left out.
func TestMarkdownManyWarnings(t *testing.T) {
	p := plantest.SamplePlan()
	p.Warnings = nil
	for i := range 500 {
		p.Warnings = append(p.Warnings, fmt.Sprintf("user uid=u%d,ou=people,dc=example,dc=com has no email address and is skipped", i))
	}
	md := renderMarkdown(t, p, plan.RenderOptions{MaxChars: 5000})
	if n := utf8.RuneCountInString(md); n > 5000 {
		t.Errorf("%d characters", n)
	}
	m := regexp.MustCompile(`> … and (\d+) more warnings \(full plan in the job's artifacts\)`).FindStringSubmatch(md)
	if m == nil {
		t.Fatalf("warnings not cut:\n%s", md)
	}
	more, _ := strconv.Atoi(m[1])
	if shown := strings.Count(md, "> **Warning:**"); shown+more != 500 || shown == 0 {
		t.Errorf("%d warnings shown and %d more, want 500", shown, more)
	}
	if !strings.Contains(md, "1 user to change") || checkSections(t, md) {
		t.Errorf("the sections did not all fit beside the cut warnings:\n%s", md)
	}
}

// TestMarkdownColumnOne: GitLab and GitHub colour a line of a diff block
// by its first character only, so every change's marker is there and
// never indented.
func TestMarkdownColumnOne(t *testing.T) {
	indented := regexp.MustCompile(`(?m)^\s+[-+~] `)
	for name, p := range map[string]*plan.Plan{"sample": plantest.SamplePlan(), "creates": plantest.CreatePlan(100)} {
		md := renderMarkdown(t, p, plan.RenderOptions{})
		if l := indented.FindString(md); l != "" {
			t.Errorf("%s: an indented marker, uncoloured: %q", name, l)
		}
		if name != "creates" {
			continue
		}
		// Every line of a created object is an added line.
		for _, m := range mdSection.FindAllStringSubmatch(md, -1) {
			for _, l := range strings.Split(strings.TrimSuffix(m[4], "\n"), "\n") {
				if !strings.HasPrefix(l, "+") && !strings.Contains(l, "… and ") {
					t.Errorf("creates: line %q is not coloured as added", l)
				}
			}
		}
	}
}
