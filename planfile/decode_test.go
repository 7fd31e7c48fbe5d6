package planfile_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/plan/plantest"
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

// TestWriteMatchesSequential: Write, which makes lines on several cores,
// writes the very file the Writer writes change by change; also when its
// workers may not run ahead of the writer by more than a line.
func TestWriteMatchesSequential(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	for name, p := range map[string]*plan.Plan{"bench": plantest.CreatePlan(3000), "tricky": trickyPlan(3000), "tricky, a line ahead": trickyPlan(3000)} {
		var want bytes.Buffer
		if err := planfile.WriteSequential(&want, p, key); err != nil {
			t.Fatal(err)
		}
		restore := func() {}
		if strings.HasSuffix(name, "a line ahead") {
			restore = planfile.SetLinesAhead(1)
		}
		var got bytes.Buffer
		err := planfile.Write(&got, p, key)
		restore()
		if err != nil {
			t.Fatal(err)
		}
		if g, w := gunzip(t, got.Bytes()), gunzip(t, want.Bytes()); g != w {
			gl, wl := strings.Split(g, "\n"), strings.Split(w, "\n")
			for i := range min(len(gl), len(wl)) {
				if gl[i] != wl[i] {
					t.Fatalf("%s: line %d differs:\n got %.600s\nwant %.600s", name, i, gl[i], wl[i])
				}
			}
			t.Fatalf("%s: %d lines, want %d", name, len(gl), len(wl))
		}
	}
}

// decoded is what a decoding passed on, and how it ended.
type decoded struct {
	ids []string // the header's source, then each change's id
	err string
}

func decodeWith(decode func(io.Reader, []byte, func(*plan.Plan) error, func(*plan.Change) error) error, text string, stopAt int) decoded {
	var d decoded
	err := decode(strings.NewReader(text), key, func(p *plan.Plan) error {
		d.ids = append(d.ids, p.Source)
		return nil
	}, func(c *plan.Change) error {
		var members []string
		if c.After != nil {
			members = c.After.Lists["members"]
		}
		if d.ids = append(d.ids, string(c.Kind)+" "+c.ID+" "+strings.Join(members, ",")); len(d.ids) == stopAt {
			return errors.New("enough")
		}
		return nil
	})
	if err != nil {
		d.err = err.Error()
	}
	return d
}

// TestDecodeMatchesSequential: Decode, which unmarshals lines ahead on
// several cores, passes on the same changes in the same order as the
// plain decoder, and ends with the same error, on good files and on
// files broken here and there (a line that is not JSON, a ref past the
// changes before it, a line cut or dropped, the file cut, a bad header),
// with the checksum recomputed or not, and when a callback stops it.
func TestDecodeMatchesSequential(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	rng := rand.New(rand.NewPCG(21, 22))
	for name, p := range map[string]*plan.Plan{"bench": plantest.CreatePlan(3000), "tricky": trickyPlan(3000)} {
		var buf bytes.Buffer
		if err := planfile.Write(&buf, p, key); err != nil {
			t.Fatal(err)
		}
		text := gunzip(t, buf.Bytes())
		lines := strings.SplitAfter(text, "\n")
		lines = lines[:len(lines)-1] // "" after the last newline
		cases := map[string]string{"good": text}
		edits := map[string]func(string) string{
			"not JSON":  func(l string) string { return l[:len(l)/2] + "\n" },
			"bad ref":   func(l string) string { return strings.Replace(l, `"refs":[`, `"refs":[99999,`, 1) },
			"dropped":   func(string) string { return "" },
			"bad value": func(l string) string { return strings.Replace(l, `"name":`, `"name":7,"x":`, 1) },
		}
		for edit, f := range edits {
			for k := range 3 {
				at := 1 + rng.IntN(len(lines)-2)
				edited := slices.Clone(lines)
				edited[at] = f(edited[at])
				cases[fmt.Sprintf("%s at %d (%d)", edit, at, k)] = resum(t, strings.Join(edited, ""))
				cases[fmt.Sprintf("%s at %d, checksum not redone (%d)", edit, at, k)] = strings.Join(edited, "")
			}
		}
		cases["cut"] = text[:len(text)*2/3]
		cases["bad header"] = resum(t, strings.Replace(text, `"format_version":`, `"format_version":"x","y":`, 1))
		for c, file := range cases {
			for _, stopAt := range []int{0, 1, 700} {
				want := decodeWith(planfile.DecodeSequential, file, stopAt)
				got := decodeWith(planfile.Decode, file, stopAt)
				if !slices.Equal(got.ids, want.ids) || got.err != want.err {
					t.Errorf("%s, %s, stop at %d: passed %d, error %q; the plain decoder passed %d, error %q", name, c, stopAt, len(got.ids), got.err, len(want.ids), want.err)
				}
			}
		}
	}
}
