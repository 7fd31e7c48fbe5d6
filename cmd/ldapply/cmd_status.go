package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ldapply/ldapply/state"
)

// statusDoc is `ldapply status --json`.
type statusDoc struct {
	State    string         `json:"state"` // Unknown, Running, Success, Failure, Interrupted
	Location string         `json:"location"`
	Lineage  string         `json:"lineage"`
	Serial   uint64         `json:"serial"`
	Managed  map[string]int `json:"managed"`
	// Lock is the holder of the lock while a run holds it.
	Lock *state.LockInfo `json:"lock,omitempty"`
	// HolderGone is set when Lock's holder runs on this host and its
	// process is not alive.
	HolderGone bool `json:"holder_gone,omitempty"`
	// StaleLock is the lock record a holder that died left behind; the
	// next apply takes it over.
	StaleLock *state.LockInfo `json:"stale_lock,omitempty"`
	Runs      []statusRun     `json:"runs"`
}

// statusRun is a run as status shows it: a run that never finished
// because its holder died is "interrupted", with Killed set.
type statusRun struct {
	state.Run
	Killed bool `json:"killed,omitempty"`
}

func cmdStatus(c *cli.Context) error {
	cfg, err := loadConfig(c.String("config"))
	if err != nil {
		return err
	}
	store, err := cfg.stateBackend(newLogger(c.App.ErrWriter))
	if err != nil {
		return err
	}
	doc := statusDoc{Location: store.String(), Managed: map[string]int{}, Runs: []statusRun{}}
	snap, err := store.Read(c.Context, c.Duration("lock-timeout"))
	var le *state.LockError
	switch {
	case errors.As(err, &le):
		// An apply is running: that is the status.
		doc.State, doc.Lock = "Running", le.Info
		doc.HolderGone = le.Info != nil && !holderAlive(le.Info)
	case err != nil:
		return err
	default:
		fillStatus(&doc, snap, c.Int("runs"))
	}
	if c.Bool("json") {
		enc := json.NewEncoder(c.App.Writer)
		enc.SetIndent("", "  ")
		return enc.Encode(doc)
	}
	printStatus(c.App.Writer, &doc)
	return nil
}

// fillStatus fills doc from a snapshot Read returned, keeping the last n
// runs (all when n < 0). Read waits for a live holder, so a run still
// marked running was left by a holder that died.
func fillStatus(doc *statusDoc, snap *state.Snapshot, n int) {
	doc.Lineage, doc.Serial, doc.StaleLock = snap.Lineage, snap.Serial, snap.StaleLock
	for k, m := range snap.Bindings {
		doc.Managed[string(k)] = len(m)
	}
	runs := snap.Runs
	if n >= 0 && len(runs) > n {
		runs = runs[len(runs)-n:]
	}
	for _, r := range slices.Backward(runs) { // newest first
		sr := statusRun{Run: r}
		if r.Status == state.StatusRunning {
			sr.Status, sr.Killed = state.StatusInterrupted, true
		}
		doc.Runs = append(doc.Runs, sr)
	}
	doc.State = "Unknown"
	if len(doc.Runs) > 0 {
		doc.State = strings.ToUpper(doc.Runs[0].Status[:1]) + doc.Runs[0].Status[1:]
	}
}

// holderAlive reports whether the process holding info may be alive: it
// is false only when info names this host and no process has its pid.
func holderAlive(info *state.LockInfo) bool {
	_, host, _ := strings.Cut(info.Who, "@")
	if me, err := os.Hostname(); err != nil || host != me || info.PID <= 0 {
		return true
	}
	return !errors.Is(syscall.Kill(info.PID, 0), syscall.ESRCH)
}

func printStatus(w io.Writer, d *statusDoc) {
	shown := d.State
	if len(d.Runs) > 0 && d.Runs[0].Killed {
		shown += " (killed)"
	}
	fmt.Fprintf(w, "State: %s\n", shown)
	fmt.Fprintf(w, "Location: %s\n", d.Location)
	if d.Lock != nil {
		fmt.Fprintf(w, "Running: %s by %s (pid %d) since %s, lock %s\n", d.Lock.Operation, d.Lock.Who, d.Lock.PID, d.Lock.Created.Format(time.RFC3339), d.Lock.ID)
		if d.HolderGone {
			fmt.Fprintf(w, "The holder's process %d is not running on this host, yet the lock is held: check that the state is on a local disk, or stop what holds it.\n", d.Lock.PID)
		}
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
	if l := d.StaleLock; l != nil {
		fmt.Fprintf(w, "Stale lock: held by %s of %s (pid %d) since %s, lock %s; that process is gone. The next apply takes the lock over (or run ldapply force-unlock %s).\n",
			l.Operation, l.Who, l.PID, l.Created.Format(time.RFC3339), l.ID, l.ID)
	}
	if len(d.Runs) == 0 {
		fmt.Fprintln(w, "No runs recorded yet.")
		return
	}
	fmt.Fprintln(w, "\nLast runs (newest first):")
	for _, r := range d.Runs {
		if r.Killed {
			fmt.Fprintf(w, "  %s  %-11s %-6s %s\n", r.Started.Local().Format("2006-01-02 15:04:05"), "interrupted (killed)", r.Operation, killedLine(&r.Run))
			continue
		}
		fmt.Fprintf(w, "  %s  %-11s %-6s %6.1fs  %s\n", r.Started.Local().Format("2006-01-02 15:04:05"), r.Status, r.Operation, r.Finished.Sub(r.Started).Seconds(), r.Message)
		for _, e := range r.Errors {
			fmt.Fprintf(w, "      ERROR %s\n", e)
		}
	}
}

// killedLine says how far a run whose holder died got, and who it was.
func killedLine(r *state.Run) string {
	var b strings.Builder
	fmt.Fprintf(&b, "the process died before it finished: at least %d of %d changes done", r.Done, r.Total)
	if h := r.Holder; h != nil {
		fmt.Fprintf(&b, " (%s, pid %d)", h.Who, h.PID)
	}
	b.WriteString("; run plan to see what is left")
	return b.String()
}
