package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ldapply/ldapply/apply"
	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/planfile"
	"github.com/ldapply/ldapply/state"
)

// applyRun is what one apply needs besides the plan.
type applyRun struct {
	cfg         *Config
	tgt         target
	store       state.Backend
	lockTimeout time.Duration
	parallelism int
	ignoreDrift bool
	operation   string // "apply" or "sync"
	runID       string
	auditPath   string // --audit-log; "" for none
	changeLines int    // --log-changes
	out         io.Writer
	errOut      io.Writer
	log         *slog.Logger
}

// run takes the lock, gets the plan from load (given the locked
// snapshot), checks it and executes it. It returns the apply result (nil
// when nothing ran).
func (a *applyRun) run(ctx context.Context, load func(*state.Snapshot) (*plan.Plan, error)) (res *apply.Result, err error) {
	var audit *auditLog
	if a.auditPath != "" {
		if audit, err = openAuditLog(a.auditPath, a.runID, a.operation); err != nil {
			return nil, err
		}
		defer func() {
			if cerr := audit.Close(); cerr != nil {
				err = errors.Join(err, cerr)
			}
		}()
	}
	info := state.NewLockInfo(a.operation, version)
	locked, err := a.store.Lock(ctx, info, a.lockTimeout)
	if err != nil {
		return nil, err
	}
	defer func() {
		if uerr := locked.Unlock(); uerr != nil && err == nil {
			err = uerr
		}
	}()
	if stale := locked.StaleLock(); stale != nil {
		a.log.Warn("Took over a lock left by a run that is gone.", "id", stale.ID, "operation", stale.Operation, "who", stale.Who, "pid", stale.PID, "since", stale.Created)
	}
	snap, err := locked.Snapshot()
	if err != nil {
		return nil, err
	}
	p, err := load(snap)
	if err != nil {
		return nil, err
	}
	if err := apply.Check(p, a.expect(snap)); err != nil {
		return nil, err
	}
	if len(p.Changes) == 0 {
		fmt.Fprintln(a.out, "No changes. Nothing to apply.")
		return nil, nil
	}
	if vr, ok := a.tgt.(apply.VersionReader); ok {
		if a.ignoreDrift {
			a.log.Warn("Skipping the drift check (--ignore-drift): changes made in the target since the plan may be overwritten.")
		} else if err := apply.CheckDrift(ctx, p, vr); err != nil {
			return nil, err
		}
	}
	if _, err := locked.BumpSerial(); err != nil {
		return nil, err
	}
	// The run is in the history from its start: if this process dies,
	// status shows it interrupted, with how far it got.
	run := state.Run{ID: a.runID, Operation: a.operation, Started: time.Now().UTC(), Status: state.StatusRunning, Total: len(p.Changes), Holder: &info}
	if err := locked.AddRun(run); err != nil {
		return nil, fmt.Errorf("could not record the start of the run in the state, so nothing was applied: %w", err)
	}
	res, applyErr := a.execute(ctx, p, locked, &run, audit)
	a.finishRun(locked, &run, res, applyErr)
	return a.report(ctx, p, res, applyErr)
}

// execute applies p, showing progress and writing how far it got into
// the run's history entry every runProgressEvery.
func (a *applyRun) execute(ctx context.Context, p *plan.Plan, locked state.Session, run *state.Run, audit *auditLog) (*apply.Result, error) {
	bar := newProgress(a.errOut, a.operation, "changes", len(p.Changes))
	var done atomic.Int64
	stop := make(chan struct{})
	ticking := make(chan struct{})
	go func() {
		defer close(ticking)
		t := time.NewTicker(runProgressEvery)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				r := *run
				r.Done = int(done.Load())
				if err := locked.AddRun(r); err != nil {
					a.log.Warn("Could not record how far the run got in the state history.", "err", err)
				}
			}
		}
	}()
	opts := apply.Options{Parallelism: a.parallelism, Log: a.log, ChangeLines: a.changeLines,
		OmittedHint: "Pass --audit-log FILE to record every change.",
		Progress:    func(n, total int) { done.Store(int64(n)); bar.Set(n, total) }}
	if audit != nil {
		opts.Observer = audit
		opts.OmittedHint = fmt.Sprintf("The audit log %s records every change.", audit.path)
	}
	res, err := apply.Run(ctx, p, a.tgt, locked, opts)
	close(stop)
	<-ticking
	bar.Finish()
	return res, err
}

// runProgressEvery is how often an apply records in its history entry
// how many changes it has finished.
const runProgressEvery = 2 * time.Second

// finishRun records how the run ended in its history entry.
func (a *applyRun) finishRun(locked state.Session, run *state.Run, res *apply.Result, applyErr error) {
	run.Finished = time.Now().UTC()
	if cs, ok := locked.(interface {
		CommitStats() (int64, time.Duration)
	}); ok {
		// What recording costs: the fsyncs mostly overlap the target's
		// writes, but a share near the whole means the disk sets the pace.
		commits, busy := cs.CommitStats()
		took := run.Finished.Sub(run.Started)
		a.log.Info("Recorded the results in the state.", "commits", commits, "committing", busy.Round(time.Millisecond), "of", took.Round(time.Millisecond), "share", fmt.Sprintf("%.0f%%", 100*busy.Seconds()/max(took.Seconds(), 1e-9)))
	}
	run.Counts = map[string]int{}
	for act, n := range res.Done {
		run.Counts[act.String()] = n
	}
	run.Done = run.Total - res.Skipped
	run.Counts["failed"] = len(res.Failed)
	run.Counts["degraded"] = len(res.Degraded)
	run.Counts["skipped"] = res.Skipped
	switch {
	case applyErr == nil:
		run.Status = state.StatusSuccess
	case errors.Is(applyErr, context.Canceled):
		run.Status = state.StatusInterrupted
	default:
		run.Status = state.StatusFailure
	}
	for _, f := range res.Failed {
		run.Errors = append(run.Errors, f.Error())
	}
	run.Message = summary(res)
	if rerr := locked.AddRun(*run); rerr != nil {
		a.log.Error("Could not record the run in the state history.", "err", rerr)
	}
}

func summary(res *apply.Result) string {
	return fmt.Sprintf("%d added, %d adopted, %d changed, %d renamed, %d destroyed", res.Done[plan.Create], res.Done[plan.Adopt], res.Done[plan.Update], res.Done[plan.Rename], res.Done[plan.Delete])
}

// report prints how the apply ended and returns its error.
func (a *applyRun) report(ctx context.Context, p *plan.Plan, res *apply.Result, applyErr error) (*apply.Result, error) {
	done := summary(res)
	switch {
	case applyErr == nil:
		fmt.Fprintf(a.out, "Apply complete! Objects: %s.\n", done)
		if aa, ok := a.tgt.(afterApplier); ok {
			return res, aa.AfterApply(ctx, p, a.out)
		}
		return res, nil
	case errors.Is(applyErr, context.Canceled):
		fmt.Fprintf(a.out, "Apply interrupted: %s; %s%d not started. Run plan again to see what is left.\n", done, failedAndDegraded(res, false), res.Skipped)
		listOutcomes(a.out, res)
		made := 0
		for _, n := range res.Done {
			made += n
		}
		return res, &codeError{code: exitInterrupted, err: fmt.Errorf("apply interrupted; the state records the %d changes that were made", made)}
	default:
		fmt.Fprintf(a.out, "Apply failed: %s; %s%d not started.\n", done, failedAndDegraded(res, true), res.Skipped)
		listOutcomes(a.out, res)
		return res, fmt.Errorf("apply: %w\nThe state records what succeeded; fix the cause and run plan again", applyErr)
	}
}

// failedAndDegraded counts the failed and the degraded changes for the
// summary line, "" when there are none and always is false.
func failedAndDegraded(res *apply.Result, always bool) string {
	if !always && len(res.Failed) == 0 && len(res.Degraded) == 0 {
		return ""
	}
	return fmt.Sprintf("%d failed, %d degraded (written without what failed), ", len(res.Failed), len(res.Degraded))
}

// listOutcomes names the failed changes (their errors follow on stderr)
// and the degraded ones with what each left out, at most maxListed of
// each.
func listOutcomes(w io.Writer, res *apply.Result) {
	list := func(title string, n int, line func(i int) string) {
		if n == 0 {
			return
		}
		fmt.Fprintln(w, title)
		for i := range min(n, maxListed) {
			fmt.Fprintf(w, "  %s\n", line(i))
		}
		if n > maxListed {
			fmt.Fprintf(w, "  and %d more (the log names each)\n", n-maxListed)
		}
	}
	list("Failed:", len(res.Failed), func(i int) string {
		c := res.Failed[i].Change
		return fmt.Sprintf("%s %s %s", c.Action, c.Kind, c.Name())
	})
	list("Degraded (the next plan adds what they left out once it exists):", len(res.Degraded), func(i int) string {
		d := res.Degraded[i]
		without := strings.Join(d.Without[:min(len(d.Without), maxListed)], ", ")
		if n := len(d.Without) - maxListed; n > 0 {
			without += fmt.Sprintf(" and %d more", n)
		}
		return fmt.Sprintf("%s %s %s, without %s", d.Change.Action, d.Change.Kind, d.Change.Name(), without)
	})
}

// maxListed bounds each list of listOutcomes, and the names of what a
// degraded change left out.
const maxListed = 20

func newApplyRun(c *cli.Context, cfg *Config, operation string, log *slog.Logger) (*applyRun, error) {
	tgt, err := newTarget(cfg, log)
	if err != nil {
		return nil, err
	}
	store, err := cfg.stateBackend(log)
	if err != nil {
		return nil, err
	}
	return &applyRun{cfg: cfg, tgt: tgt, store: store, lockTimeout: c.Duration("lock-timeout"), parallelism: c.Int("parallelism"),
		ignoreDrift: c.Bool("ignore-drift"), operation: operation, runID: newRunID(), auditPath: c.String("audit-log"), changeLines: c.Int("log-changes"),
		out: c.App.Writer, errOut: c.App.ErrWriter, log: log}, nil
}

func cmdApply(c *cli.Context) (err error) {
	if c.NArg() != 1 {
		return errors.New("apply needs exactly one argument, the plan file made by `ldapply plan --out PLANFILE`")
	}
	started := time.Now()
	planPath := c.Args().First()
	log := newLogger(c.App.ErrWriter)
	cfg, err := loadConfig(c.String("config"))
	if err != nil {
		return err
	}
	var res *apply.Result
	defer func() { writeMetrics(c.String("metrics-file"), "apply", started, nil, res, err, log) }()
	f, err := os.Open(planPath)
	if err != nil {
		return fmt.Errorf("open plan: %w", err)
	}
	defer f.Close()
	a, err := newApplyRun(c, cfg, "apply", log)
	if err != nil {
		return err
	}
	res, err = a.run(c.Context, func(snap *state.Snapshot) (*plan.Plan, error) {
		p, err := readPlan(f, snap.SignKey)
		switch {
		case errors.Is(err, planfile.ErrTampered):
			// A plan of another state, or of another configuration, is
			// not signed by this one: its header says which it was.
			if ferr := apply.Check(p, a.expect(snap)); errors.Is(ferr, apply.ErrForeign) {
				return nil, fmt.Errorf("plan %s: %w", planPath, ferr)
			}
			return nil, fmt.Errorf("plan %s was edited after it was made: its signature does not match state lineage %s (%s); run plan again", planPath, snap.Lineage, a.store)
		case err != nil:
			return nil, fmt.Errorf("plan %s: %w; run plan again", planPath, err)
		}
		return p, nil
	})
	return err
}

// cmdSync plans and applies in one process, for timers and cron: every
// guard of plan and apply still holds; only the review step is skipped,
// which --auto-approve must confirm.
func cmdSync(c *cli.Context) (err error) {
	if !c.Bool("auto-approve") {
		return errors.New("sync applies changes without a reviewed plan; pass --auto-approve to confirm (or use plan --out and apply)")
	}
	started := time.Now()
	log := newLogger(c.App.ErrWriter)
	cfg, err := loadConfig(c.String("config"))
	if err != nil {
		return err
	}
	var (
		pl  *planned
		res *apply.Result
	)
	defer func() { writeMetrics(c.String("metrics-file"), "sync", started, pl, res, err, log) }()
	a, err := newApplyRun(c, cfg, "sync", log)
	if err != nil {
		return err
	}
	if pl, err = makePlan(c.Context, cfg, a.tgt, a.store, a.lockTimeout, log); err != nil {
		return err
	}
	if err := plan.Render(c.App.Writer, pl.plan, plan.FormatText, plan.RenderOptions{Color: colorOK(c.App.Writer, c)}); err != nil {
		return err
	}
	if err := checkDeletes(cfg, pl.plan, pl.managed, c.Int("allow-deletes"), "sync"); err != nil {
		return err
	}
	res, err = a.run(c.Context, func(*state.Snapshot) (*plan.Plan, error) { return pl.plan, nil })
	return err
}

// expect is what a plan applied in this run must have been made
// against.
func (a *applyRun) expect(snap *state.Snapshot) apply.Expect {
	return apply.Expect{Lineage: snap.Lineage, Serial: snap.Serial, ConfigDigest: a.cfg.Digest(), Target: a.tgt.Describe(),
		Config: a.cfg.path, State: a.store.String()}
}

// readPlan reads a whole plan file, as planfile.Read does, but returns
// the plan's header also with ErrTampered, so that a refusal can say
// which state and configuration the plan names.
func readPlan(r io.Reader, signKey []byte) (*plan.Plan, error) {
	var p *plan.Plan
	err := planfile.Decode(r, signKey, func(h *plan.Plan) error { p = h; return nil }, func(c *plan.Change) error {
		p.Changes = append(p.Changes, *c)
		return nil
	})
	if err != nil && (p == nil || !errors.Is(err, planfile.ErrTampered)) {
		return nil, err
	}
	return p, err
}
