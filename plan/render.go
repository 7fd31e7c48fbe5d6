package plan

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
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
	// MaxChars is the Markdown's size budget in characters (Unicode code
	// points, as GitHub and GitLab count a comment's length); 0 means
	// DefaultMarkdownChars.
	MaxChars int
	// Checks, when not nil, says what the reader of a plan file checked
	// ("checksum": "matches", ...); the JSON document holds it as
	// "checks".
	Checks map[string]string
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
		return newMarkdownRenderer(w, opts)
	case FormatJSON:
		return &jsonRenderer{w: bufio.NewWriter(w), checks: opts.Checks}, nil
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

// DeletesLine says what p deletes, by kind in Kinds order: "1 user and
// 2 groups", or "" when p deletes nothing.
func DeletesLine(p *Plan) string {
	n := map[Kind]int{}
	for i := range p.Changes {
		if p.Changes[i].Action == Delete {
			n[p.Changes[i].Kind]++
		}
	}
	var parts []string
	for _, k := range Kinds {
		if n[k] > 0 {
			parts = append(parts, plural(n[k], string(k)))
		}
	}
	return strings.Join(parts, " and ")
}

// headline is the first line of a change: symbol, kind, name(s).
func headline(c *Change) string { return string(appendHeadline(nil, c)) }

// appendHeadline appends c's headline to b.
func appendHeadline(b []byte, c *Change) []byte {
	b = append(b, c.Action.Symbol()...)
	b = append(b, ' ')
	b = append(b, c.Kind...)
	b = append(b, ' ')
	switch {
	case c.Action == Rename && c.Before != nil:
		b = append(b, c.Before.Name...)
		b = append(b, " -> "...)
		b = append(b, c.After.Name...)
	case c.Action == Create || c.Action == Adopt || c.Action == Delete && c.Key != "":
		b = append(b, c.Name()...)
		b = append(b, " (key "...)
		b = append(b, c.Key...)
		b = append(b, ')')
	default:
		b = append(b, c.Name()...)
	}
	return b
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

// attrLines holds one change's attribute lines, rendered into one buffer
// that the next change reuses: a plan of 100,000 creates has 2,000,000
// member lines, and a string for each would be 2,000,000 allocations
// for a text written once.
type attrLines struct {
	refs *Refs // the plan's names for list values
	// via holds the owners that have Via refs: for the lists of any
	// other owner (most groups), Refs.Name is the id's name, which is
	// found without looking for a Via ref first.
	via   map[string]bool
	buf   []byte
	ends  []int    // where each line ends in buf
	names []string // scratch: one list's names, to sort
}

// setRefs makes l show list values by refs' names.
func (l *attrLines) setRefs(refs *Refs) {
	l.refs, l.via = refs, map[string]bool{}
	for v := range refs.Via {
		l.via[v.Owner] = true
	}
}

// sortedNames returns the names of ids in owner's list, sorted, in a
// buffer the next call reuses; via is l.via[owner].
func (l *attrLines) sortedNames(via bool, owner string, ids []string) []string {
	l.names = l.names[:0]
	for _, id := range ids {
		l.names = append(l.names, l.name(via, owner, id))
	}
	slices.Sort(l.names)
	return l.names
}

// name returns l.refs.Name(owner, id); via is l.via[owner].
func (l *attrLines) name(via bool, owner, id string) string {
	if via {
		return l.refs.Name(owner, id)
	}
	if n, ok := l.refs.Names[id]; ok {
		return n
	}
	return id
}

// line ends the line written to l.buf since the last one.
func (l *attrLines) line() { l.ends = append(l.ends, len(l.buf)) }

// each calls f with every line, without its end.
func (l *attrLines) each(f func(line []byte)) {
	start := 0
	for _, end := range l.ends {
		f(l.buf[start:end])
		start = end
	}
}

// shownChanges returns the attribute differences a renderer shows for
// c: for a delete, every value the object had (its lists left out: a
// plan file keeps none for a delete), so the reviewer sees what goes.
func shownChanges(c *Change) []AttrChange {
	switch c.Action {
	case Create:
		return AttrChanges(nil, c.After)
	case Delete:
		if c.Before == nil {
			return nil
		}
		return AttrChanges(&Object{Attrs: c.Before.Attrs, Sensitive: c.Before.Sensitive}, nil)
	}
	return AttrChanges(c.Before, c.After)
}

// render replaces l's lines with c's attribute differences, indented by
// ind; maxItems caps the items shown per list (0: all).
func (l *attrLines) render(c *Change, ind string, maxItems int) {
	l.buf, l.ends = l.buf[:0], l.ends[:0]
	changes := shownChanges(c)
	width := 0
	for _, a := range changes {
		if !a.List {
			width = max(width, len(a.Name))
		}
	}
	for _, a := range changes {
		l.buf = append(l.buf, ind...)
		if a.List {
			l.list(c, &a, ind, maxItems)
			continue
		}
		sign := byte('~')
		switch {
		case !a.HadOld:
			sign = '+'
		case !a.HasNew:
			sign = '-'
		}
		long := !a.Sensitive && a.HadOld && a.HasNew && longText(a.Old, a.New)
		l.buf = append(l.buf, sign, ' ')
		l.buf = append(l.buf, a.Name...)
		if long {
			l.buf = append(l.buf, ':')
			l.line()
			for _, t := range textDiff(a.Old, a.New) {
				l.buf = append(append(append(l.buf, ind...), "    "...), t...)
				l.line()
			}
			continue
		}
		for range width - len(a.Name) {
			l.buf = append(l.buf, ' ')
		}
		switch {
		case a.Sensitive && sign == '~':
			l.buf = append(l.buf, " = (sensitive value changed)"...)
		case a.Sensitive:
			l.buf = append(l.buf, " = (sensitive value)"...)
		case sign == '+':
			l.buf = strconv.AppendQuote(append(l.buf, " = "...), l.refs.Value(a.Name, a.New))
		case sign == '-':
			l.buf = strconv.AppendQuote(append(l.buf, " = "...), l.refs.Value(a.Name, a.Old))
		default:
			l.buf = strconv.AppendQuote(append(l.buf, " = "...), l.refs.Value(a.Name, a.Old))
			l.buf = strconv.AppendQuote(append(l.buf, " -> "...), l.refs.Value(a.Name, a.New))
		}
		l.line()
	}
}

// list renders a list attribute's heading (its indent already written)
// and items: the added names, then the removed ones, each sorted.
func (l *attrLines) list(c *Change, a *AttrChange, ind string, maxItems int) {
	sign := byte('~')
	if c.Action == Create {
		sign = '+'
	}
	l.buf = append(append(append(l.buf, sign, ' '), a.Name...), ':')
	l.line()
	total := len(a.Added) + len(a.Removed)
	shown := 0
	via := l.via[c.ID]
	for _, set := range [...]struct {
		sign string
		ids  []string
	}{{"+ ", a.Added}, {"- ", a.Removed}} {
		for _, n := range l.sortedNames(via, c.ID, set.ids) {
			if maxItems > 0 && shown == maxItems {
				break
			}
			l.buf = append(append(append(append(l.buf, ind...), "    "...), set.sign...), n...)
			l.line()
			shown++
		}
	}
	clear(l.names) // keep no names alive between changes
	if shown < total {
		l.buf = append(append(l.buf, ind...), "    … and "...)
		l.buf = strconv.AppendInt(l.buf, int64(total-shown), 10)
		l.buf = append(l.buf, " more"...)
		l.line()
	}
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
	w     *bufio.Writer
	opts  RenderOptions
	p     *Plan
	lines attrLines
	sum   Summary
}

func (r *textRenderer) Header(p *Plan) error {
	r.p = p
	r.lines.setRefs(&p.Refs)
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
	r.w.WriteString("\n  ")
	if r.opts.Color {
		r.w.WriteString(actionColor(c.Action))
	}
	r.lines.buf = appendHeadline(r.lines.buf[:0], c)
	r.w.Write(r.lines.buf)
	if r.opts.Color {
		r.w.WriteString(ansiReset)
	}
	r.w.WriteByte('\n')
	r.lines.render(c, "      ", 0)
	r.lines.each(func(l []byte) {
		color := ""
		if r.opts.Color && len(l) > 6 {
			switch l[6] {
			case '+':
				color = ansiGreen
			case '-':
				color = ansiRed
			}
		}
		if color == "" {
			r.w.Write(l)
		} else {
			r.w.Write(l[:6])
			r.w.WriteString(color)
			r.w.Write(l[6:])
			r.w.WriteString(ansiReset)
		}
		r.w.WriteByte('\n')
	})
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
	w      *bufio.Writer
	p      *Plan
	sum    Summary
	first  bool
	checks map[string]string
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
	for _, a := range shownChanges(c) {
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
	fmt.Fprintf(r.w, `],"summary":%s,"no_changes":%t`, b, r.sum.Total() == 0)
	if r.checks != nil {
		c, _ := json.Marshal(r.checks)
		fmt.Fprintf(r.w, `,"checks":%s`, c)
	}
	r.w.WriteString("}\n")
	return r.w.Flush()
}
