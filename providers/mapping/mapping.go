// Package mapping holds the attribute mappings targets share: Go
// text/templates over an LDAP entry's attributes, such as
// "{{ or .displayName .cn }}".
//
// A Template knows which attributes it reads, so the source can ask the
// server for those alone instead of every attribute (in Active Directory
// a user has dozens, memberOf among them), and runs the common simple
// forms ("{{ .uid }}", "{{ or .displayName .cn }}") without the
// template engine. Both matter at 100,000 users.
package mapping

import (
	"bytes"
	"slices"
	"strings"
	"text/template"
	"text/template/parse"

	"github.com/ldapply/ldapply/plan"
)

// Template is a parsed mapping template.
type Template struct {
	t *template.Template
	// or is the attribute names of a simple template, tried in order
	// (one name for "{{ .uid }}"); nil for any other template.
	or []string
	// attrs is what the template reads; all means it may read any
	// attribute (it passes "." itself to a function, ranges over it...).
	attrs []string
	all   bool
}

// Parse parses text as a template named name. A missing attribute is
// the empty string.
func Parse(name, text string) (*Template, error) {
	t, err := template.New(name).Option("missingkey=zero").Parse(text)
	if err != nil {
		return nil, err
	}
	m := &Template{t: t}
	w := &walker{}
	w.list(t.Tree.Root)
	m.all = w.all
	slices.Sort(w.attrs)
	m.attrs = slices.Compact(w.attrs)
	m.or = simple(t.Tree.Root)
	return m, nil
}

// Execute runs the template on e's attributes (see [Data]) and returns
// its output with surrounding white space removed.
func (m *Template) Execute(e *plan.Entry, buf *bytes.Buffer) (string, error) {
	if m.or != nil {
		v := ""
		for _, a := range m.or {
			if v = value(e, a); v != "" {
				break
			}
		}
		return strings.TrimSpace(v), nil
	}
	return m.ExecuteData(Data(e), buf)
}

// ExecuteData runs the template on data made by [Data], for callers that
// run several templates on one entry.
func (m *Template) ExecuteData(data map[string]string, buf *bytes.Buffer) (string, error) {
	buf.Reset()
	if err := m.t.Execute(buf, data); err != nil {
		return "", err
	}
	return strings.TrimSpace(buf.String()), nil
}

// Attributes returns the attribute names the template reads, or all
// true when it may read any.
func (m *Template) Attributes() (attrs []string, all bool) {
	return m.attrs, m.all
}

// Attributes returns the attribute names the templates read together,
// or nil when one of them may read any attribute. "dn" is not an
// attribute and is left out.
func Attributes(ts ...*Template) []string {
	out := []string{}
	for _, t := range ts {
		if t == nil {
			continue
		}
		if t.all {
			return nil
		}
		for _, a := range t.attrs {
			if !strings.EqualFold(a, "dn") {
				out = append(out, a)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Data exposes an entry's attributes, first value of each, under the
// name the server returned and its lower-case form; .dn is the DN.
func Data(e *plan.Entry) map[string]string {
	d := make(map[string]string, 2*len(e.Attrs)+1)
	for k, v := range e.Attrs {
		if len(v) == 0 {
			continue
		}
		d[k] = v[0]
		if lk := strings.ToLower(k); lk != k {
			if _, taken := d[lk]; !taken {
				d[lk] = v[0]
			}
		}
	}
	d["dn"] = e.DN
	return d
}

// value is Data(e)[name] without building the map.
func value(e *plan.Entry, name string) string {
	if name == "dn" {
		return e.DN
	}
	if v := e.Attrs[name]; len(v) > 0 {
		return v[0]
	}
	if name != strings.ToLower(name) {
		return ""
	}
	// The lower-case form of a name the server returned in another case.
	for k, v := range e.Attrs {
		if len(v) > 0 && strings.ToLower(k) == name {
			return v[0]
		}
	}
	return ""
}

// simple returns the attribute names of a template that is one action
// "{{ .a }}" or "{{ or .a .b ... }}", with only white space around it;
// nil otherwise.
func simple(root *parse.ListNode) []string {
	var action *parse.ActionNode
	for _, n := range root.Nodes {
		switch n := n.(type) {
		case *parse.TextNode:
			if len(bytes.TrimSpace(n.Text)) > 0 {
				return nil
			}
		case *parse.ActionNode:
			if action != nil {
				return nil
			}
			action = n
		default:
			return nil
		}
	}
	if action == nil || len(action.Pipe.Decl) > 0 || len(action.Pipe.Cmds) != 1 {
		return nil
	}
	args := action.Pipe.Cmds[0].Args
	if len(args) > 2 {
		if id, ok := args[0].(*parse.IdentifierNode); !ok || id.Ident != "or" {
			return nil
		}
		args = args[1:]
	} else if len(args) != 1 {
		return nil
	}
	var names []string
	for _, a := range args {
		f, ok := a.(*parse.FieldNode)
		if !ok || len(f.Ident) != 1 {
			return nil
		}
		names = append(names, f.Ident[0])
	}
	return names
}

// walker collects the attributes a template tree reads.
type walker struct {
	attrs []string
	all   bool
}

func (w *walker) list(l *parse.ListNode) {
	if l == nil {
		return
	}
	for _, n := range l.Nodes {
		w.node(n)
	}
}

func (w *walker) node(n parse.Node) {
	switch n := n.(type) {
	case *parse.TextNode, *parse.CommentNode:
	case *parse.ActionNode:
		w.pipe(n.Pipe)
	case *parse.IfNode:
		w.pipe(n.Pipe)
		w.list(n.List)
		w.list(n.ElseList)
	default:
		// range, with, template, block: "." changes meaning or the
		// reads are elsewhere; assume the template reads anything.
		w.all = true
	}
}

func (w *walker) pipe(p *parse.PipeNode) {
	if p == nil {
		return
	}
	for _, c := range p.Cmds {
		w.command(c)
	}
}

func (w *walker) command(c *parse.CommandNode) {
	args := c.Args
	// index . "name" reads one attribute.
	if len(args) == 3 {
		if id, ok := args[0].(*parse.IdentifierNode); ok && id.Ident == "index" && isRoot(args[1]) {
			if s, ok := args[2].(*parse.StringNode); ok {
				w.attrs = append(w.attrs, s.Text)
				return
			}
		}
	}
	for _, a := range args {
		w.arg(a)
	}
}

func (w *walker) arg(a parse.Node) {
	switch a := a.(type) {
	case *parse.FieldNode:
		w.attrs = append(w.attrs, a.Ident[0])
	case *parse.VariableNode:
		switch {
		case a.Ident[0] == "$" && len(a.Ident) > 1:
			w.attrs = append(w.attrs, a.Ident[1])
		case a.Ident[0] == "$" || len(a.Ident) > 1:
			// "$" itself, or a field of a variable that may hold ".".
			w.all = true
		}
	case *parse.DotNode:
		w.all = true
	case *parse.PipeNode:
		w.pipe(a)
	case *parse.ChainNode:
		w.arg(a.Node)
	case *parse.IdentifierNode, *parse.StringNode, *parse.NumberNode, *parse.BoolNode, *parse.NilNode:
	default:
		w.all = true
	}
}

// isRoot reports whether n is "." or "$" (outside range and with, both
// are the entry's data).
func isRoot(n parse.Node) bool {
	switch n := n.(type) {
	case *parse.DotNode:
		return true
	case *parse.VariableNode:
		return len(n.Ident) == 1 && n.Ident[0] == "$"
	}
	return false
}
