package plan

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/sergi/go-diff/diffmatchpatch"
)

// Format selects a renderer.
type Format string

const (
	FormatText     Format = "text"
	FormatMarkdown Format = "markdown"
	FormatJSON     Format = "json"
)

// JSONFormatVersion is the version of the `show --json` document. Readers
// must ignore unknown fields and reject another major version.
const JSONFormatVersion = "1.0"

// RenderOptions tune a renderer.
type RenderOptions struct {
	// Color adds ANSI colours (text format only).
	Color bool
	// MaxListItems caps the items shown per list attribute in Markdown;
	// 0 means 50.
	MaxListItems int
}

// Renderer writes a plan as it streams past: Header once, Change for each
// change, then Close, which writes the summary.
type Renderer interface {
	Header(p *Plan) error
	Change(c *Change) error
	Close() error
}

// NewRenderer returns the renderer for format writing to w.
func NewRenderer(w io.Writer, format Format, opts RenderOptions) (Renderer, error) {
	switch format {
	case FormatText, "":
		return &textRenderer{w: bufio.NewWriter(w), opts: opts}, nil
	case FormatMarkdown:
		if opts.MaxListItems == 0 {
			opts.MaxListItems = 50
		}
		return &markdownRenderer{w: bufio.NewWriter(w), opts: opts}, nil
	case FormatJSON:
		return &jsonRenderer{w: bufio.NewWriter(w)}, nil
	}
	return nil, fmt.Errorf("unknown output format %q: use text, markdown or json", format)
}

// Render writes the whole of p in format.
func Render(w io.Writer, p *Plan, format Format, opts RenderOptions) error {
	r, err := NewRenderer(w, format, opts)
	if err != nil {
		return err
	}
	if err := r.Header(p); err != nil {
		return err
	}
	for i := range p.Changes {
		if err := r.Change(&p.Changes[i]); err != nil {
			return err
		}
	}
	return r.Close()
}

// SummaryLine is the one-line summary shared by every renderer.
func SummaryLine(s Summary) string {
	if s.Total() == 0 {
		return "No changes. The target matches the directory."
	}
	adopt := ""
	if s.Adopt > 0 {
		adopt = fmt.Sprintf(", %d to adopt", s.Adopt)
	}
	return fmt.Sprintf("Plan: %d to add%s, %d to change, %d to rename, %d to destroy.", s.Add, adopt, s.Change, s.Rename, s.Destroy)
}

// headline is the first line of a change: symbol, kind, name(s).
func headline(c *Change) string {
	switch {
	case c.Action == Rename && c.Before != nil:
		return fmt.Sprintf("%s %s %s -> %s", c.Action.Symbol(), c.Kind, c.Before.Name, c.After.Name)
	case c.Action == Create || c.Action == Adopt:
		return fmt.Sprintf("%s %s %s (key %s)", c.Action.Symbol(), c.Kind, c.Name(), c.Key)
	}
	return fmt.Sprintf("%s %s %s", c.Action.Symbol(), c.Kind, c.Name())
}

// refName shows a list value of owner's by the name the plan knows for
// it: first a ref for this owner ("owner/id", e.g. "dave (via dev)"),
// then the id's own.
func refName(p *Plan, owner, id string) string {
	if p != nil {
		if n, ok := p.Refs[owner+"/"+id]; ok {
			return n
		}
		if n, ok := p.Refs[id]; ok {
			return n
		}
	}
	return id
}

// longText reports whether a value change reads better as a text diff.
func longText(a, b string) bool {
	return strings.Contains(a, "\n") || strings.Contains(b, "\n") || len(a) > 80 || len(b) > 80
}

// textDiff renders old -> new as lines prefixed "- ", "+ " or "  " (for
// multi-line values) or as one line with [-removed-]{+added+} marks.
func textDiff(old, new string) []string {
	dmp := diffmatchpatch.New()
	if strings.Contains(old, "\n") || strings.Contains(new, "\n") {
		a, b, lines := dmp.DiffLinesToChars(old, new)
		diffs := dmp.DiffCharsToLines(dmp.DiffMain(a, b, false), lines)
		var out []string
		for _, d := range diffs {
			prefix := "  "
			switch d.Type {
			case diffmatchpatch.DiffInsert:
				prefix = "+ "
			case diffmatchpatch.DiffDelete:
				prefix = "- "
			}
			for _, l := range strings.SplitAfter(strings.TrimSuffix(d.Text, "\n"), "\n") {
				out = append(out, prefix+strings.TrimSuffix(l, "\n"))
			}
		}
		return out
	}
	diffs := dmp.DiffCleanupSemantic(dmp.DiffMain(old, new, false))
	var sb strings.Builder
	for _, d := range diffs {
		switch d.Type {
		case diffmatchpatch.DiffInsert:
			sb.WriteString("{+" + d.Text + "+}")
		case diffmatchpatch.DiffDelete:
			sb.WriteString("[-" + d.Text + "-]")
		default:
			sb.WriteString(d.Text)
		}
	}
	return []string{sb.String()}
}

// attrLines renders one change's attribute differences, indented by ind.
// maxItems caps list items (0: all).
func attrLines(p *Plan, c *Change, ind string, maxItems int) []string {
	if c.Action == Delete {
		return nil
	}
	before := c.Before
	if c.Action == Create {
		before = nil
	}
	changes := AttrChanges(before, c.After)
	width := 0
	for _, a := range changes {
		if !a.List {
			width = max(width, len(a.Name))
		}
	}
	var out []string
	for _, a := range changes {
		name := a.Name
		if !a.List {
			name += strings.Repeat(" ", width-len(a.Name))
		}
		switch {
		case a.List:
			out = append(out, fmt.Sprintf("%s~ %s:", ind, a.Name))
			items := make([]string, 0, len(a.Added)+len(a.Removed))
			for _, set := range []struct {
				sign string
				ids  []string
			}{{"+ ", a.Added}, {"- ", a.Removed}} {
				names := make([]string, len(set.ids))
				for i, v := range set.ids {
					names[i] = refName(p, c.ID, v)
				}
				slices.Sort(names)
				for _, n := range names {
					items = append(items, set.sign+n)
				}
			}
			if c.Action == Create {
				out[len(out)-1] = fmt.Sprintf("%s+ %s:", ind, a.Name)
			}
			shown := items
			if maxItems > 0 && len(items) > maxItems {
				shown = items[:maxItems]
			}
			for _, it := range shown {
				out = append(out, ind+"    "+it)
			}
			if len(shown) < len(items) {
				out = append(out, fmt.Sprintf("%s    … and %d more", ind, len(items)-len(shown)))
			}
		case a.Sensitive:
			switch {
			case !a.HadOld:
				out = append(out, fmt.Sprintf("%s+ %s = (sensitive value)", ind, name))
			case !a.HasNew:
				out = append(out, fmt.Sprintf("%s- %s = (sensitive value)", ind, name))
			default:
				out = append(out, fmt.Sprintf("%s~ %s = (sensitive value changed)", ind, name))
			}
		case !a.HadOld:
			out = append(out, fmt.Sprintf("%s+ %s = %q", ind, name, a.New))
		case !a.HasNew:
			out = append(out, fmt.Sprintf("%s- %s = %q", ind, name, a.Old))
		case longText(a.Old, a.New):
			out = append(out, fmt.Sprintf("%s~ %s:", ind, a.Name))
			for _, l := range textDiff(a.Old, a.New) {
				out = append(out, ind+"    "+l)
			}
		default:
			out = append(out, fmt.Sprintf("%s~ %s = %q -> %q", ind, name, a.Old, a.New))
		}
	}
	return out
}

const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiBlue   = "\x1b[34m"
	ansiCyan   = "\x1b[36m"
)

func actionColor(a Action) string {
	switch a {
	case Create:
		return ansiGreen
	case Delete:
		return ansiRed
	case Rename:
		return ansiCyan
	case Adopt:
		return ansiBlue
	}
	return ansiYellow
}

type textRenderer struct {
	w    *bufio.Writer
	opts RenderOptions
	p    *Plan
	sum  Summary
}

func (r *textRenderer) Header(p *Plan) error {
	r.p = p
	fmt.Fprintf(r.w, "ldapply plan: source %s, target %s\n", p.Source, p.Target)
	state := "no state yet"
	if p.Lineage != "" {
		state = fmt.Sprintf("state %s serial %d", p.Lineage, p.Serial)
	}
	fmt.Fprintf(r.w, "Made %s against %s.\n", p.Created.UTC().Format("2006-01-02 15:04:05 UTC"), state)
	return nil
}

func (r *textRenderer) Change(c *Change) error {
	r.sum.Count(c)
	head := headline(c)
	if r.opts.Color {
		head = actionColor(c.Action) + head + ansiReset
	}
	fmt.Fprintf(r.w, "\n  %s\n", head)
	for _, l := range attrLines(r.p, c, "      ", 0) {
		if r.opts.Color && len(l) > 6 {
			switch l[6] {
			case '+':
				l = l[:6] + ansiGreen + l[6:] + ansiReset
			case '-':
				l = l[:6] + ansiRed + l[6:] + ansiReset
			}
		}
		fmt.Fprintln(r.w, l)
	}
	return nil
}

func (r *textRenderer) Close() error {
	fmt.Fprintln(r.w)
	for _, warn := range r.p.Warnings {
		fmt.Fprintf(r.w, "Warning: %s\n", warn)
	}
	line := SummaryLine(r.sum)
	if r.opts.Color {
		line = ansiBold + line + ansiReset
	}
	fmt.Fprintln(r.w, line)
	return r.w.Flush()
}

type markdownRenderer struct {
	w      *bufio.Writer
	opts   RenderOptions
	p      *Plan
	sum    Summary
	groups []*mdGroup
}

type mdGroup struct {
	kind    Kind
	action  Action
	count   int
	lines   []string
	omitted int
}

// mdMaxChanges caps the changes listed per block; the rest are counted.
const mdMaxChanges = 200

func (r *markdownRenderer) Header(p *Plan) error { r.p = p; return nil }

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
	if g.count > mdMaxChanges {
		g.omitted++
		return nil
	}
	g.lines = append(g.lines, headline(c))
	g.lines = append(g.lines, attrLines(r.p, c, "    ", r.opts.MaxListItems)...)
	return nil
}

func plural(n int, word string) string {
	if n == 1 || strings.HasSuffix(word, "s") { // "2 settings", not "settingss"
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

var mdVerb = map[Action]string{Create: "to add", Update: "to change", Rename: "to rename", Adopt: "to adopt", Delete: "to destroy"}

func (r *markdownRenderer) Close() error {
	fmt.Fprintf(r.w, "**%s**\n\n", SummaryLine(r.sum))
	fmt.Fprintf(r.w, "Source `%s` → target `%s`", r.p.Source, r.p.Target)
	if r.p.Lineage != "" {
		fmt.Fprintf(r.w, ", state `%s` serial %d", r.p.Lineage, r.p.Serial)
	}
	fmt.Fprintln(r.w, ".")
	if len(r.p.Warnings) > 0 {
		fmt.Fprintln(r.w)
		for _, w := range r.p.Warnings {
			fmt.Fprintf(r.w, "> **Warning:** %s\n", w)
		}
	}
	for _, g := range r.groups {
		fmt.Fprintf(r.w, "\n<details><summary>%s %s</summary>\n\n```diff\n", plural(g.count, string(g.kind)), mdVerb[g.action])
		for _, l := range g.lines {
			// A line that would close the fence is broken up.
			fmt.Fprintln(r.w, strings.ReplaceAll(l, "```", "`\u200b``"))
		}
		if g.omitted > 0 {
			fmt.Fprintf(r.w, "# … and %d more (run `ldapply show` for all)\n", g.omitted)
		}
		fmt.Fprint(r.w, "```\n\n</details>\n")
	}
	return r.w.Flush()
}

// JSONChange is one change in the `show --json` document.
type JSONChange struct {
	Action       Action          `json:"action"`
	Kind         Kind            `json:"kind"`
	Key          string          `json:"key"`
	ID           string          `json:"id"`
	Name         string          `json:"name"`
	PreviousName string          `json:"previous_name,omitempty"`
	Attributes   []JSONAttribute `json:"attributes"`
}

// JSONAttribute is one attribute difference; sensitive values are never
// included.
type JSONAttribute struct {
	Name      string   `json:"name"`
	Before    *string  `json:"before,omitempty"`
	After     *string  `json:"after,omitempty"`
	Added     []string `json:"added,omitempty"`
	Removed   []string `json:"removed,omitempty"`
	Sensitive bool     `json:"sensitive,omitempty"`
}

type jsonRenderer struct {
	w     *bufio.Writer
	p     *Plan
	sum   Summary
	first bool
}

func (r *jsonRenderer) Header(p *Plan) error {
	r.p, r.first = p, true
	head := map[string]any{
		"format_version": JSONFormatVersion,
		"plan_format":    p.FormatVersion,
		"tool_version":   p.ToolVersion,
		"created":        p.Created.UTC(),
		"lineage":        p.Lineage,
		"serial":         p.Serial,
		"source":         p.Source,
		"target":         p.Target,
		"counts":         p.Counts,
		"warnings":       p.Warnings,
	}
	b, err := json.Marshal(head)
	if err != nil {
		return err
	}
	r.w.Write(b[:len(b)-1])
	r.w.WriteString(`,"changes":[`)
	return nil
}

func (r *jsonRenderer) Change(c *Change) error {
	r.sum.Count(c)
	jc := JSONChange{Action: c.Action, Kind: c.Kind, Key: c.Key, ID: c.ID, Name: c.Name(), Attributes: []JSONAttribute{}}
	if c.Action == Rename && c.Before != nil {
		jc.PreviousName = c.Before.Name
	}
	if c.Action != Delete {
		before := c.Before
		if c.Action == Create {
			before = nil
		}
		for _, a := range AttrChanges(before, c.After) {
			ja := JSONAttribute{Name: a.Name, Sensitive: a.Sensitive}
			switch {
			case a.List:
				ja.Added, ja.Removed = a.Added, a.Removed
			case a.Sensitive:
			default:
				if a.HadOld {
					ja.Before = &a.Old
				}
				if a.HasNew {
					ja.After = &a.New
				}
			}
			jc.Attributes = append(jc.Attributes, ja)
		}
	}
	b, err := json.Marshal(jc)
	if err != nil {
		return err
	}
	if !r.first {
		r.w.WriteByte(',')
	}
	r.first = false
	r.w.Write(b)
	return nil
}

func (r *jsonRenderer) Close() error {
	s := map[string]int{"add": r.sum.Add, "change": r.sum.Change, "rename": r.sum.Rename, "adopt": r.sum.Adopt, "destroy": r.sum.Destroy, "total": r.sum.Total()}
	b, _ := json.Marshal(s)
	fmt.Fprintf(r.w, `],"summary":%s,"no_changes":%t}`+"\n", b, r.sum.Total() == 0)
	return r.w.Flush()
}
