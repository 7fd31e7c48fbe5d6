package teamwire

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"

	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/providers/httpapi"
)

// ErrRunFailed is wrapped by the error of a sync run that ended in
// "Failure".
var ErrRunFailed = errors.New("the LDAP sync run failed")

// AfterApply starts a sync run for every organisation whose settings the
// plan changed and follows each to its end, when run_after_apply is set.
func (p *Provider) AfterApply(ctx context.Context, pl *plan.Plan, out io.Writer) error {
	if !p.cfg.RunAfterApply {
		return nil
	}
	var errs []error
	for _, org := range changedOrgs(pl) {
		if err := p.Run(ctx, org, out); err != nil {
			if ctx.Err() != nil {
				return err
			}
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Run starts a sync run of org (PUT), then follows it: a progress bar on a
// terminal or a line per 10% elsewhere, every new sync_log entry (read
// with sync_log_skip_entries), and the final last_run_state. When ctx is
// cancelled (Ctrl-C) the run is aborted with DELETE; a 409 then means it
// had already ended, which is not an error. A run that ends in Failure is
// an error wrapping [ErrRunFailed].
func (p *Provider) Run(ctx context.Context, org string, out io.Writer) error {
	name := objectName(org)
	before, err := p.client.GetStatus(ctx, org, math.MaxInt32)
	if err != nil {
		return err
	}
	if before.LastRunState == StateRunning {
		fmt.Fprintf(out, "A sync run of %s is already running; following it.\n", name)
	} else {
		if err := p.client.StartRun(ctx, org); err != nil {
			if ctx.Err() != nil {
				// The PUT may have reached Teamwire before the interrupt.
				return p.abort(org, out, &follower{out: out}, ctx.Err())
			}
			return err
		}
		fmt.Fprintf(out, "Started an LDAP sync run of %s.\n", name)
	}
	f := &follower{out: out, name: name, tty: isTerminal(out), lastBucket: -1}
	deadline := time.Now().Add(time.Duration(p.cfg.RunTimeout))
	skip, started := 0, before.LastRunState == StateRunning
	for {
		st, err := p.client.GetStatus(ctx, org, skip)
		if ctx.Err() != nil {
			return p.abort(org, out, f, ctx.Err())
		}
		if err != nil {
			f.endLine()
			return err
		}
		if st.LastRunState == StateRunning {
			started = true
		}
		// Until the run shows up, the status is the previous run's.
		if started || st.LastRunTimestamp != before.LastRunTimestamp {
			for _, e := range st.SyncLog {
				f.logLine(e)
			}
			skip += len(st.SyncLog)
			f.progress(st.Progress)
			if st.LastRunState != StateRunning && (started || st.LastRunState != StateUnknown) {
				f.endLine()
				fmt.Fprintf(out, "Sync run of %s ended: %s at %s", name, st.LastRunState, FormatTimestamp(st.LastRunTimestamp))
				if st.StatusMsg != "" {
					fmt.Fprintf(out, ": %s", st.StatusMsg)
				}
				fmt.Fprintln(out, ".")
				if st.LastRunState == StateFailure {
					return fmt.Errorf("teamwire: %s: %w: %s", name, ErrRunFailed, st.StatusMsg)
				}
				return nil
			}
		}
		if time.Now().After(deadline) {
			f.endLine()
			return fmt.Errorf("teamwire: the sync run of %s is still running after %s (target.teamwire.run_timeout); it goes on in Teamwire: see `ldapply teamwire status`", name, time.Duration(p.cfg.RunTimeout))
		}
		if err := httpapi.Sleep(ctx, time.Duration(p.cfg.PollInterval)); err != nil {
			return p.abort(org, out, f, err)
		}
	}
}

// abort stops org's run after an interruption and returns cause wrapped.
func (p *Provider) abort(org string, out io.Writer, f *follower, cause error) error {
	f.endLine()
	name := objectName(org)
	actx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := p.client.AbortRun(actx, org)
	switch {
	case err == nil:
		fmt.Fprintf(out, "Aborted the sync run of %s.\n", name)
	case IsConflict(err):
		fmt.Fprintf(out, "No sync run of %s was active any more (HTTP 409): nothing to abort.\n", name)
	default:
		return fmt.Errorf("interrupted; aborting the sync run of %s failed, it may still be running: %w (%w)", name, err, cause)
	}
	return fmt.Errorf("sync run of %s interrupted: %w", name, cause)
}

// follower prints a run's progress and log.
type follower struct {
	out        io.Writer
	name       string
	tty        bool
	barShown   bool
	lastBucket int
}

func (f *follower) progress(pct float64) {
	pct = max(0, min(100, pct))
	if f.tty {
		const width = 30
		n := int(pct / 100 * width)
		fmt.Fprintf(f.out, "\r%s [%s%s] %5.1f%%", f.name, strings.Repeat("#", n), strings.Repeat(".", width-n), pct)
		f.barShown = true
		return
	}
	if b := int(pct / 10); b != f.lastBucket {
		f.lastBucket = b
		fmt.Fprintf(f.out, "%s: progress %.0f%%\n", f.name, pct)
	}
}

func (f *follower) logLine(e LogEntry) {
	f.endLine()
	fmt.Fprintf(f.out, "  %s %-8s %s\n", FormatTimestamp(e.Date), e.Severity, e.Msg)
}

// endLine ends the progress bar's line before other output.
func (f *follower) endLine() {
	if f.barShown {
		fmt.Fprint(f.out, "\r\x1b[K")
		f.barShown = false
	}
}

// isTerminal reports whether w is a character device.
func isTerminal(w io.Writer) bool {
	fl, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := fl.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// PrintStatus writes the sync status of every configured organisation:
// last_run_state, last_run_timestamp, status_msg, progress and the log.
func (p *Provider) PrintStatus(ctx context.Context, out io.Writer) error {
	for i, org := range p.cfg.organisations() {
		st, err := p.client.GetStatus(ctx, org, 0)
		if err != nil {
			return err
		}
		if i > 0 {
			fmt.Fprintln(out)
		}
		fmt.Fprintf(out, "%s:\n", objectName(org))
		fmt.Fprintf(out, "  last_run_state:     %s\n", st.LastRunState)
		fmt.Fprintf(out, "  last_run_timestamp: %s\n", FormatTimestamp(st.LastRunTimestamp))
		fmt.Fprintf(out, "  status_msg:         %s\n", st.StatusMsg)
		fmt.Fprintf(out, "  progress:           %.1f%%\n", st.Progress)
		if len(st.SyncLog) == 0 {
			fmt.Fprintln(out, "  sync_log:           (empty)")
			continue
		}
		fmt.Fprintln(out, "  sync_log:")
		for _, e := range st.SyncLog {
			fmt.Fprintf(out, "    %s %-8s %s\n", FormatTimestamp(e.Date), e.Severity, e.Msg)
		}
	}
	return nil
}

// RunAll starts and follows a sync run of every configured organisation
// in turn (`ldapply teamwire run`).
func (p *Provider) RunAll(ctx context.Context, out io.Writer) error {
	var errs []error
	for _, org := range p.cfg.organisations() {
		if err := p.Run(ctx, org, out); err != nil {
			if ctx.Err() != nil {
				return err
			}
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
