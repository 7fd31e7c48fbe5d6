package plan

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

const (
	// DefaultMarkdownChars is the Markdown budget when none is given:
	// GitHub refuses a comment over 65,536 characters, and the margin
	// leaves room for what a CI job adds around the plan (a heading, a
	// hidden marker).
	DefaultMarkdownChars = 60_000
	// MinMarkdownChars is the smallest budget: below it not even the
	// summary and the sections' headings fit.
	MinMarkdownChars = 2_000
	// mdWhere ends every cut list, so a reviewer knows where the rest is.
	mdWhere = " (full plan in the job's artifacts)"
	mdMore  = " more" + mdWhere
	// mdCautionItems is the most deletes the callout lists: enough to
	// see what kind of objects go, few enough that the warnings below
	// it stay in sight; the section of deletes lists more.
	mdCautionItems = 50
)

// markdownRenderer collects the plan's changes grouped by kind and
// action, then writes them in Close within the budget: the summary and
// warnings first, then every section, each cut to its share.
type markdownRenderer struct {
	w      *bufio.Writer
	opts   RenderOptions
	p      *Plan
	lines  mdLines
	sum    Summary
	groups []*mdGroup
	// dels holds the caution's line for each delete, kept only while
	// they could still be shown; delsKept is their size.
	dels     []string
	delsKept int
}

// mdGroup is one section: the changes of one kind and action.
type mdGroup struct {
	kind   Kind
	action Action
	count  int
	// changes holds each kept change's lines, fence-safe, with their
	// sizes; changes are kept only while they could still be shown.
	changes []string
	sizes   []int
	kept    int // characters in changes
	shown   int // how many changes Close writes
}

func newMarkdownRenderer(w io.Writer, opts RenderOptions) (*markdownRenderer, error) {
	if opts.MaxListItems == 0 {
		opts.MaxListItems = 50
	}
	if opts.MaxChars == 0 {
		opts.MaxChars = DefaultMarkdownChars
	}
	if opts.MaxChars < MinMarkdownChars {
		return nil, fmt.Errorf("a Markdown budget of %d characters is too small for a plan's summary and sections: give at least %d", opts.MaxChars, MinMarkdownChars)
	}
	return &markdownRenderer{w: bufio.NewWriter(w), opts: opts}, nil
}

func (r *markdownRenderer) Header(p *Plan) error {
	r.p = p
	r.lines.setRefs(&p.Refs)
	return nil
}

func (r *markdownRenderer) Change(c *Change) error {
	r.sum.Count(c)
	var g *mdGroup
	for _, x := range r.groups {
		if x.kind == c.Kind && x.action == c.Action {
			g = x
		}
	}
	if g == nil {
		g = &mdGroup{kind: c.Kind, action: c.Action}
		r.groups = append(r.groups, g)
	}
	g.count++
	if c.Action == Delete && r.delsKept <= r.opts.MaxChars {
		line := mdDeleted(c, &r.p.Refs)
		r.dels = append(r.dels, line)
		r.delsKept += runes(line)
	}
	if g.kept > r.opts.MaxChars { // more could never be shown
		return nil
	}
	text := r.lines.change(c, r.opts.MaxListItems)
	n := utf8.RuneCountInString(text)
	g.changes = append(g.changes, text)
	g.sizes = append(g.sizes, n)
	g.kept += n
	return nil
}

func plural(n int, word string) string {
	if n == 1 || strings.HasSuffix(word, "s") { // "2 settings", not "settingss"
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

var mdVerb = map[Action]string{Create: "to add", Update: "to change", Rename: "to rename", Adopt: "to adopt", Delete: "to destroy"}

// open and close are the section's text around its changes; more is its
// last line when changes are cut, sized for the most that can be cut.
func (g *mdGroup) open() string {
	return fmt.Sprintf("\n<details><summary>%s %s</summary>\n\n```diff\n", plural(g.count, string(g.kind)), mdVerb[g.action])
}

const mdClose = "```\n\n</details>\n"

func mdMoreLine(n int) string { return "… and " + strconv.Itoa(n) + mdMore + "\n" }

func (g *mdGroup) frame() int {
	return runes(g.open()) + runes(mdClose) + runes(mdMoreLine(g.count))
}

func runes(s string) int { return utf8.RuneCountInString(s) }

func (r *markdownRenderer) Close() error {
	var out strings.Builder
	out.WriteString(r.head())
	budget := r.opts.MaxChars - runes(out.String())
	// The deletes may take a quarter, warnings half of what is left;
	// the sections the rest.
	caution := r.caution(budget / 4)
	out.WriteString(caution)
	budget -= runes(caution)
	warn := r.warnings(budget / 2)
	out.WriteString(warn)
	budget -= runes(warn)

	groups, tail := r.layout(budget)
	for _, g := range groups {
		out.WriteString(g.open())
		for _, c := range g.changes[:g.shown] {
			out.WriteString(c)
		}
		if g.shown < g.count {
			out.WriteString(mdMoreLine(g.count - g.shown))
		}
		out.WriteString(mdClose)
	}
	out.WriteString(tail)
	if runes(out.String()) > r.opts.MaxChars {
		// Only a header longer than the budget (a very long source or
		// target) gets here: the summary alone still fits.
		out.Reset()
		fmt.Fprintf(&out, "**%s**\n\nThe plan does not fit in %d characters; the full plan is in the job's artifacts.\n", SummaryLine(r.sum), r.opts.MaxChars)
	}
	r.w.WriteString(out.String())
	return r.w.Flush()
}

// layout chooses the sections and changes that fit in budget and
// returns the sections to write and the line counting those left out.
func (r *markdownRenderer) layout(budget int) ([]*mdGroup, string) {
	if whole, ok := r.whole(); ok && whole <= budget {
		for _, g := range r.groups {
			g.shown = len(g.changes)
		}
		return r.groups, ""
	}
	// Sections whose frames do not fit are left out and counted in a
	// last line, whose own size is kept free.
	groups, tail := r.groups, ""
	for len(groups) > 0 && r.frames(groups) > budget-runes(tail) {
		groups = groups[:len(groups)-1]
		tail = "\n… and " + plural(len(r.groups)-len(groups), "section") + mdMore + "\n"
	}
	share(groups, budget-runes(tail)-r.frames(groups))
	return groups, tail
}

// whole is the size of every section shown in full, if all their
// changes were kept.
func (r *markdownRenderer) whole() (int, bool) {
	n := 0
	for _, g := range r.groups {
		if len(g.changes) < g.count {
			return 0, false
		}
		n += runes(g.open()) + runes(mdClose) + g.kept
	}
	return n, true
}

func (r *markdownRenderer) frames(groups []*mdGroup) int {
	n := 0
	for _, g := range groups {
		n += g.frame()
	}
	return n
}

// head is the summary and where the plan came from.
func (r *markdownRenderer) head() string {
	var b strings.Builder
	fmt.Fprintf(&b, "**%s**\n\n", SummaryLine(r.sum))
	fmt.Fprintf(&b, "Source `%s` → target `%s`", r.p.Source, r.p.Target)
	if r.p.Lineage != "" {
		fmt.Fprintf(&b, ", state `%s` serial %d", r.p.Lineage, r.p.Serial)
	}
	b.WriteString(".\n")
	return b.String()
}

// caution renders the plan's deletes in a callout that GitHub and
// GitLab show in red above everything else: at most mdCautionItems of
// them in at most budget characters (its heading and the line counting
// those left out always).
func (r *markdownRenderer) caution(budget int) string {
	if r.sum.Destroy == 0 {
		return ""
	}
	var kinds []string
	for _, g := range r.groups {
		if g.action == Delete {
			kinds = append(kinds, plural(g.count, string(g.kind)))
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n> [!CAUTION]\n> **This plan destroys %s.** Check that each should go:\n>\n", strings.Join(kinds, " and "))
	more := func(n int) string { return "> … and " + strconv.Itoa(n) + mdMore + "\n" }
	used, shown := runes(b.String()), 0
	for _, line := range r.dels[:min(len(r.dels), mdCautionItems)] {
		reserve := 0
		if shown < r.sum.Destroy-1 {
			reserve = runes(more(r.sum.Destroy - shown - 1))
		}
		if used+runes(line)+reserve > budget {
			break
		}
		b.WriteString(line)
		used += runes(line)
		shown++
	}
	if shown < r.sum.Destroy {
		b.WriteString(more(r.sum.Destroy - shown))
	}
	return b.String()
}

// mdDeleted is the caution's line for delete c: the object's kind,
// name and key, and the values that tell which one it is (neither a
// secret nor another object's id).
func mdDeleted(c *Change, refs *Refs) string {
	var b strings.Builder
	b.WriteString("> - ")
	b.WriteString(string(c.Kind))
	b.WriteByte(' ')
	b.WriteString(mdCode(c.Name()))
	var details []string
	if c.Key != "" {
		details = append(details, "key "+mdCode(c.Key))
	}
	if o := c.Before; o != nil {
		for _, name := range slices.Sorted(maps.Keys(o.Attrs)) {
			v := o.Attrs[name]
			// Ids of other objects (a default channel) say what the
			// object uses, not which one it is.
			if v == "" || v == o.Name || o.IsSensitive(name) || slices.Contains(refs.Attrs, name) {
				continue
			}
			details = append(details, name+" "+mdCode(v))
		}
	}
	if len(details) > 0 {
		b.WriteString(" — ")
		b.WriteString(strings.Join(details, ", "))
	}
	b.WriteByte('\n')
	return b.String()
}

// mdCode returns s as inline code on one line, at most 80 characters
// of it.
func mdCode(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > 80 {
		s = string([]rune(s)[:79]) + "…"
	}
	if strings.Contains(s, "`") {
		return "`` " + s + " ``"
	}
	return "`" + s + "`"
}

// warnings renders the plan's warnings in at most budget characters.
func (r *markdownRenderer) warnings(budget int) string {
	ws := r.p.Warnings
	more := func(n int) string { return "> … and " + plural(n, "more warning") + mdWhere + "\n" }
	if len(ws) == 0 || 1+runes(more(len(ws))) > budget {
		return ""
	}
	var b strings.Builder
	b.WriteString("\n")
	used := 1
	for i, w := range ws {
		line := "> **Warning:** " + strings.ReplaceAll(w, "\n", " ") + "\n"
		reserve := 0 // for the line saying how many more follow
		if i < len(ws)-1 {
			reserve = runes(more(len(ws) - i - 1))
		}
		if used+runes(line)+reserve > budget {
			b.WriteString(more(len(ws) - i))
			break
		}
		b.WriteString(line)
		used += runes(line)
	}
	return b.String()
}

// share sets each group's shown changes so that all of them fit in
// budget: every section gets an equal share, a section needing less
// gives the rest to the others, and what the cuts leave over goes to
// the sections in order.
func share(groups []*mdGroup, budget int) {
	byNeed := slices.Clone(groups)
	slices.SortStableFunc(byNeed, func(a, b *mdGroup) int { return cmp.Compare(a.kept, b.kept) })
	left := budget
	for i, g := range byNeed {
		quota := min(g.kept, left/(len(byNeed)-i))
		used := 0
		g.shown = 0
		for g.shown < len(g.sizes) && used+g.sizes[g.shown] <= quota {
			used += g.sizes[g.shown]
			g.shown++
		}
		left -= used
	}
	for _, g := range groups {
		for g.shown < len(g.sizes) && g.sizes[g.shown] <= left {
			left -= g.sizes[g.shown]
			g.shown++
		}
	}
}

// mdLines renders one change for a ```diff block, where GitLab and
// GitHub colour a line only by its first character: every added,
// removed or changed line has its marker in column one and its
// indentation after it, a changed value is a "-" line and a "+" line,
// and headings of changed lists and texts are left uncoloured.
type mdLines struct {
	attrLines // for names and the scratch buffer
}

// change returns c's lines, each ended by a newline.
func (l *mdLines) change(c *Change, maxItems int) string {
	b := l.buf[:0]
	b = append(appendHeadline(b, c), '\n')
	changes := shownChanges(c)
	width := 0
	for _, a := range changes {
		if !a.List {
			width = max(width, len(a.Name))
		}
	}
	for i := range changes {
		if changes[i].List {
			b = l.list(b, c, &changes[i], maxItems)
		} else {
			b = mdAttr(b, &changes[i], width, l.refs.Value)
		}
	}
	l.buf = b
	// A line that would close the fence is broken up.
	return strings.ReplaceAll(string(b), "```", "`\u200b``")
}

// mdValue appends one "marker    name = value" line.
func mdValue(b []byte, marker byte, name string, width int, value string) []byte {
	b = append(append(b, marker, ' ', ' ', ' ', ' '), name...)
	for range width - len(name) {
		b = append(b, ' ')
	}
	return append(append(append(b, " = "...), value...), '\n')
}

// mdAttr appends a scalar attribute's change; value shows a value as
// the plan's refs name it (a channel by its name).
func mdAttr(b []byte, a *AttrChange, width int, value func(attr, v string) string) []byte {
	quote := func(s string) string {
		if a.Sensitive {
			return "(sensitive value)"
		}
		return strconv.Quote(value(a.Name, s))
	}
	switch {
	case !a.HadOld:
		return mdValue(b, '+', a.Name, width, quote(a.New))
	case !a.HasNew:
		return mdValue(b, '-', a.Name, width, quote(a.Old))
	case a.Sensitive:
		b = mdValue(b, '-', a.Name, width, "(sensitive value)")
		return mdValue(b, '+', a.Name, width, "(sensitive value, changed)")
	case strings.Contains(a.Old, "\n") || strings.Contains(a.New, "\n"):
		b = append(append(append(b, "     "...), a.Name...), ":\n"...)
		for _, t := range textDiff(a.Old, a.New) {
			// t is "- ", "+ " or "  " and a line of the text.
			b = append(append(append(append(b, t[0]), "        "...), t[2:]...), '\n')
		}
		return b
	}
	b = mdValue(b, '-', a.Name, width, quote(a.Old))
	return mdValue(b, '+', a.Name, width, quote(a.New))
}

// list appends a list attribute's heading and items: the added names,
// then the removed ones, each sorted, at most maxItems in all.
func (l *mdLines) list(b []byte, c *Change, a *AttrChange, maxItems int) []byte {
	heading := byte(' ')
	if c.Action == Create {
		heading = '+'
	}
	b = append(append(append(b, heading, ' ', ' ', ' ', ' '), a.Name...), ":\n"...)
	total := len(a.Added) + len(a.Removed)
	shown := 0
	via := l.via[c.ID]
	for _, set := range [...]struct {
		marker byte
		ids    []string
	}{{'+', a.Added}, {'-', a.Removed}} {
		for _, n := range l.sortedNames(via, c.ID, set.ids) {
			if shown == maxItems {
				break
			}
			b = append(append(append(b, set.marker), "        "...), n...)
			b = append(b, '\n')
			shown++
		}
	}
	clear(l.names) // keep no names alive between changes
	if shown < total {
		b = append(append(b, "         "...), mdMoreLine(total-shown)...)
	}
	return b
}
