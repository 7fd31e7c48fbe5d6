package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/planfile"
)

func cmdShow(c *cli.Context) error {
	if c.NArg() != 1 {
		return errors.New("show needs exactly one argument, the plan file: ldapply show [--json | --markdown] PLANFILE")
	}
	format := plan.FormatText
	switch {
	case c.Bool("json") && c.Bool("markdown"):
		return errors.New("show: choose one of --json and --markdown")
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
	r, err := plan.NewRenderer(c.App.Writer, format, plan.RenderOptions{Color: format == plan.FormatText && colorOK(c.App.Writer), MaxChars: c.Int("max-chars")})
	if err != nil {
		return fmt.Errorf("show --max-chars: %w", err)
	}
	// Streams: each change is rendered as it is read. A corrupt file
	// fails at its end, after its checksum was computed over everything.
	if err := planfile.Decode(f, nil, r.Header, r.Change); err != nil {
		return fmt.Errorf("%s: %w", c.Args().First(), err)
	}
	return r.Close()
}
