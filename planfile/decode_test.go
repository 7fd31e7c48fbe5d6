package planfile_test

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/planfile"
)

// trickyPlan has lists naming changes before and after them and their
// own change, ids that repeat, an unsorted list, and values that are no
// change's id.
func trickyPlan(n int) *plan.Plan {
	p := &plan.Plan{ToolVersion: "test", Refs: plan.Refs{Names: map[string]string{}, Via: map[plan.Via]string{}}}
	id := func(i int) string { return fmt.Sprintf("u-%05d", i%(n-n/10)) } // the last tenth repeat earlier ids
	for i := range n {
		c := plan.Change{Action: plan.Create, Kind: plan.KindUser, Key: fmt.Sprint("k", i), ID: id(i)}
		o := &plan.Object{Kind: plan.KindUser, ID: c.ID, Name: fmt.Sprint("user", i)}
		if i%7 == 3 {
			c.Kind, o.Kind = plan.KindGroup, plan.KindGroup
			list := []string{id(i - 300), id(i - 1), id(i), id(i + 1), id(i + 600), "x-not-a-change"}
			if i%2 == 0 {
				list = []string{id(i + 1), id(i - 1)} // unsorted: stays as it is
			} else {
				slicesSort(list)
			}
			o.Lists = map[string][]string{"members": list, "empty": {}}
		}
		c.After = o
		p.Changes = append(p.Changes, c)
	}
	return p
}

func slicesSort(l []string) {
	for i := 1; i < len(l); i++ {
		for j := i; j > 0 && l[j] < l[j-1]; j-- {
			l[j], l[j-1] = l[j-1], l[j]
		}
	}
}

// TestDecodeReportsTheFirstBadChange breaks two group changes of a large
// plan, far apart: a list that refers past the changes before it, and a
// line that is not JSON. Whichever comes first in the file is the
// error, after every change before it was passed on.
func TestDecodeReportsTheFirstBadChange(t *testing.T) {
	p := trickyPlan(3000)
	var buf bytes.Buffer
	if err := planfile.Write(&buf, p, key); err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(gunzip(t, buf.Bytes()), "\n")
	var groups []int // line numbers of group changes with refs
	for i, l := range lines {
		if strings.Contains(l, `"kind":"group"`) && strings.Contains(l, `"refs":[`) {
			groups = append(groups, i)
		}
	}
	if len(groups) < 40 {
		t.Fatalf("only %d group lines with refs", len(groups))
	}
	early, late := groups[5], groups[len(groups)-5]
	if late-early < 600 {
		t.Fatalf("lines %d and %d are too close to be in different batches", early, late)
	}
	breakRef := func(l string) string { return strings.Replace(l, `"refs":[`, `"refs":[99999,`, 1) }
	breakJSON := func(l string) string { return l[:len(l)/2] + "\n" }
	for name, tt := range map[string]struct {
		atEarly, atLate func(string) string
		first           int
		msg             string
	}{
		"bad ref first":  {breakRef, breakJSON, early, "a ref past the"},
		"bad JSON first": {breakJSON, breakRef, early, "change"},
	} {
		edited := slices.Clone(lines)
		edited[early], edited[late] = tt.atEarly(edited[early]), tt.atLate(edited[late])
		text := resum(t, strings.Join(edited, ""))
		passed := 0
		err := planfile.Decode(strings.NewReader(text), nil, func(*plan.Plan) error { return nil }, func(*plan.Change) error { passed++; return nil })
		want := fmt.Sprintf("change %d:", tt.first)
		if !errors.Is(err, planfile.ErrCorrupt) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: error = %v, want ErrCorrupt for %s", name, err, want)
		}
		if passed != tt.first-1 {
			t.Errorf("%s: %d changes passed before the error, want the %d before line %d", name, passed, tt.first-1, tt.first)
		}
	}
}

// TestDecodeHeaderComesFirst: the header (here 200,000 names and as
// many via refs) is passed on once, whole and before any change, and
// its errors come before any found in the lines.
func TestDecodeHeaderComesFirst(t *testing.T) {
	p := trickyPlan(3000)
	for i := range 200000 {
		p.Refs.Names[fmt.Sprintf("ref-%06d", i)] = fmt.Sprint("name ", i)
		p.Refs.Via[plan.Via{Owner: fmt.Sprintf("g-%03d", i%100), Member: fmt.Sprintf("ref-%06d", i)}] = fmt.Sprint("group ", i%7)
	}
	var buf bytes.Buffer
	if err := planfile.Write(&buf, p, key); err != nil {
		t.Fatal(err)
	}
	text := gunzip(t, buf.Bytes())
	var headers, changes int
	err := planfile.Decode(strings.NewReader(text), key, func(h *plan.Plan) error {
		if headers++; changes > 0 || !maps.Equal(h.Refs.Names, p.Refs.Names) || !maps.Equal(h.Refs.Via, p.Refs.Via) {
			t.Errorf("header %d passed after %d changes, with %d names and %d via refs", headers, changes, len(h.Refs.Names), len(h.Refs.Via))
		}
		return nil
	}, func(*plan.Change) error { changes++; return nil })
	if err != nil || headers != 1 || changes != len(p.Changes) {
		t.Fatalf("Decode: %v, %d headers, %d of %d changes", err, headers, changes, len(p.Changes))
	}
	// A header of another version, and a broken line early on: the
	// version is the error, and no change is passed on.
	lines := strings.SplitAfter(text, "\n")
	lines[0] = strings.Replace(lines[0], fmt.Sprintf(`"format_version":%d`, planfile.FormatVersion), `"format_version":99`, 1)
	lines[2] = "not json\n"
	changes = 0
	err = planfile.Decode(strings.NewReader(strings.Join(lines, "")), nil, func(*plan.Plan) error { return nil },
		func(*plan.Change) error { changes++; return nil })
	if err == nil || !strings.Contains(err.Error(), "format version 99") || changes != 0 {
		t.Errorf("Decode of a version 99 header: %v, after %d changes", err, changes)
	}
	// The header callback's error stops the decoding before any change.
	stop := errors.New("stop")
	err = planfile.Decode(strings.NewReader(text), key, func(*plan.Plan) error { return stop },
		func(*plan.Change) error { changes++; return nil })
	if !errors.Is(err, stop) || changes != 0 {
		t.Errorf("Decode with a failing header callback: %v, after %d changes", err, changes)
	}
}
