package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/urfave/cli/v2"

	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/planfile"
)

func cmdShow(c *cli.Context) error {
	if c.NArg() != 1 {
		return errors.New("show needs exactly one argument, the plan file: ldapply show [--json | --markdown] [--gitlab-report FILE] PLANFILE")
	}
	format := plan.FormatText
	switch {
	case c.Bool("json") && c.Bool("markdown"):
		return errors.New("show: choose one of --json and --markdown")
	case c.String("gitlab-report") == "-" && (c.Bool("json") || c.Bool("markdown")):
		return errors.New("show --gitlab-report - writes the report to stdout, where --json or --markdown would go: give the report a file name")
	case c.Bool("json"):
		format = plan.FormatJSON
	case c.Bool("markdown"):
		format = plan.FormatMarkdown
	}
	f, err := os.Open(c.Args().First())
	if err != nil {
		return fmt.Errorf("open plan: %w", err)
	}
	defer f.Close()
	opts := plan.RenderOptions{Color: format == plan.FormatText && colorOK(c.App.Writer, c), Checks: showChecks, MaxChars: c.Int("max-chars")}
	if format == plan.FormatMarkdown {
		if opts.MaxChars < plan.MinMarkdownChars {
			return fmt.Errorf("show --max-chars %d is too small for a plan's summary and sections: give at least %d", opts.MaxChars, plan.MinMarkdownChars)
		}
		// The note on what show checked comes after the plan, within
		// the same budget.
		opts.MaxChars -= markdownNoteMax
	}
	report := c.String("gitlab-report")
	w := c.App.Writer
	if report == "-" {
		w = io.Discard
	}
	r, err := plan.NewRenderer(w, format, opts)
	if err != nil {
		return fmt.Errorf("show --max-chars: %w", err)
	}
	var head *plan.Plan
	var sum plan.Summary
	header := func(p *plan.Plan) error { head = p; return r.Header(p) }
	change := func(ch *plan.Change) error { sum.Count(ch); return r.Change(ch) }
	// Streams: each change is rendered as it is read. A corrupt file
	// fails at its end, after its checksum was computed over everything.
	if err := planfile.Decode(f, nil, header, change); err != nil {
		return fmt.Errorf("%s: %w", c.Args().First(), err)
	}
	if err := r.Close(); err != nil {
		return err
	}
	if report != "" {
		if err := writeGitLabReport(c.App.Writer, report, sum); err != nil || report == "-" {
			return err
		}
	}
	// show has no state, so it cannot check the signature: a plan edited
	// by hand with its checksum recomputed renders as if genuine, and
	// the reviewer must know that only apply will tell.
	switch format {
	case plan.FormatText:
		fmt.Fprintf(c.App.Writer, "\nChecked: the plan file's checksum (the file is whole). Not checked: its signature, which only apply can check, against the state (%s); a plan edited by hand shows here as if genuine, and apply refuses it.\n", stateOf(head))
	case plan.FormatMarkdown:
		fmt.Fprintf(c.App.Writer, markdownNote, stateOf(head))
	}
	return nil
}

// gitLabReport is GitLab's Terraform report (artifacts:reports:terraform),
// which its merge-request widget shows: how many objects a plan creates,
// updates and deletes. GitLab requires the three keys, each a number.
type gitLabReport struct {
	Create int `json:"create"`
	Update int `json:"update"`
	Delete int `json:"delete"`
}

// writeGitLabReport writes the report of a plan that sum counts to path,
// or to stdout for "-". Renames and adoptions count as updates: each
// changes an object that exists.
func writeGitLabReport(stdout io.Writer, path string, sum plan.Summary) error {
	b, err := json.Marshal(gitLabReport{Create: sum.Add, Update: sum.Change + sum.Rename + sum.Adopt, Delete: sum.Destroy})
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if path == "-" {
		_, err = stdout.Write(b)
		return err
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("show --gitlab-report: %w", err)
	}
	return nil
}

// markdownNote ends show --markdown: what show checked, and what only
// apply can.
const markdownNote = "\n<sub>ldapply show checked this plan file's checksum, not its signature: only apply can, against the state (%s). A plan edited by hand shows here as if genuine; apply refuses it.</sub>\n"

// markdownNoteMax is the most characters markdownNote takes, with the
// longest state stateOf names.
var markdownNoteMax = utf8.RuneCountInString(fmt.Sprintf(markdownNote, stateOf(&plan.Plan{Lineage: strings.Repeat("x", 36), Serial: math.MaxUint64})))

// showChecks is what show checked of a plan file, for show --json.
var showChecks = map[string]string{
	"checksum":  "matches",
	"signature": "not checked: only apply can check it, against the state",
}

// stateOf names the state p was made against.
func stateOf(p *plan.Plan) string {
	if p.Lineage == "" {
		return "none yet when the plan was made"
	}
	return fmt.Sprintf("lineage %s serial %d", p.Lineage, p.Serial)
}
