package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ldapply/ldapply/state"
)

// statusDoc is `ldapply status --json`.
type statusDoc struct {
	State    string          `json:"state"` // Unknown, Running, Success, Failure, Interrupted
	Location string          `json:"location"`
	Lineage  string          `json:"lineage"`
	Serial   uint64          `json:"serial"`
	Managed  map[string]int  `json:"managed"`
	Lock     *state.LockInfo `json:"lock,omitempty"`
	Runs     []state.Run     `json:"runs"`
}

func cmdStatus(c *cli.Context) error {
	cfg, err := loadConfig(c.String("config"))
	if err != nil {
		return err
	}
	store, err := cfg.stateBackend()
	if err != nil {
		return err
	}
	doc := statusDoc{Location: store.String(), Managed: map[string]int{}, Runs: []state.Run{}}
	snap, err := store.Read(c.Context, c.Duration("lock-timeout"))
	var le *state.LockError
	switch {
	case errors.As(err, &le):
		// An apply is running: that is the status.
		doc.State, doc.Lock = "Running", le.Info
	case err != nil:
		return err
	default:
		doc.Lineage, doc.Serial = snap.Lineage, snap.Serial
		for k, m := range snap.Bindings {
			doc.Managed[string(k)] = len(m)
		}
		runs := snap.Runs
		if n := c.Int("runs"); n >= 0 && len(runs) > n {
			runs = runs[len(runs)-n:]
		}
		doc.Runs = slices.Clone(runs)
		slices.Reverse(doc.Runs) // newest first
		doc.State = "Unknown"
		if len(doc.Runs) > 0 {
			doc.State = strings.ToUpper(doc.Runs[0].Status[:1]) + doc.Runs[0].Status[1:]
		}
	}
	if c.Bool("json") {
		enc := json.NewEncoder(c.App.Writer)
		enc.SetIndent("", "  ")
		return enc.Encode(doc)
	}
	printStatus(c.App.Writer, &doc)
	return nil
}

func printStatus(w io.Writer, d *statusDoc) {
	fmt.Fprintf(w, "State: %s\n", d.State)
	fmt.Fprintf(w, "Location: %s\n", d.Location)
	if d.Lock != nil {
		fmt.Fprintf(w, "Running: %s by %s (pid %d) since %s, lock %s\n", d.Lock.Operation, d.Lock.Who, d.Lock.PID, d.Lock.Created.Format(time.RFC3339), d.Lock.ID)
		return
	}
	if d.Lineage == "" {
		fmt.Fprintln(w, "No state yet: run ldapply plan.")
		return
	}
	fmt.Fprintf(w, "Lineage: %s, serial %d\n", d.Lineage, d.Serial)
	var kinds []string
	for k, n := range d.Managed {
		kinds = append(kinds, fmt.Sprintf("%d %ss", n, k))
	}
	slices.Sort(kinds)
	fmt.Fprintf(w, "Managed: %s\n", strings.Join(kinds, ", "))
	if len(d.Runs) == 0 {
		fmt.Fprintln(w, "No runs recorded yet.")
		return
	}
	fmt.Fprintln(w, "\nLast runs (newest first):")
	for _, r := range d.Runs {
		fmt.Fprintf(w, "  %s  %-11s %-6s %6.1fs  %s\n", r.Started.Local().Format("2006-01-02 15:04:05"), r.Status, r.Operation, r.Finished.Sub(r.Started).Seconds(), r.Message)
		for _, e := range r.Errors {
			fmt.Fprintf(w, "      ERROR %s\n", e)
		}
	}
}
