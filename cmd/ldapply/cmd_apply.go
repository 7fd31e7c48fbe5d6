package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ldapply/ldapply/apply"
	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/state"
)

func cmdApply(c *cli.Context) (err error) {
	if c.NArg() != 1 {
		return errors.New("apply needs exactly one argument, the plan file made by `ldapply plan --out PLANFILE`")
	}
	planPath := c.Args().First()
	ctx := c.Context
	log := newLogger(c.App.ErrWriter)
	cfg, err := loadConfig(c.String("config"))
	if err != nil {
		return err
	}
	tgt, err := newTarget(cfg, log)
	if err != nil {
		return err
	}
	f, err := os.Open(planPath)
	if err != nil {
		return fmt.Errorf("open plan: %w", err)
	}
	defer f.Close()

	store, err := cfg.stateBackend()
	if err != nil {
		return err
	}
	locked, err := store.Lock(ctx, state.NewLockInfo("apply", version), c.Duration("lock-timeout"))
	if err != nil {
		return err
	}
	defer func() {
		if uerr := locked.Unlock(); uerr != nil && err == nil {
			err = uerr
		}
	}()
	if stale := locked.StaleLock(); stale != nil {
		log.Warn("Took over a lock left by a run that is gone.", "id", stale.ID, "operation", stale.Operation, "who", stale.Who, "pid", stale.PID, "since", stale.Created)
	}
	snap, err := locked.Snapshot()
	if err != nil {
		return err
	}
	p, err := plan.Read(f, snap.SignKey)
	switch {
	case errors.Is(err, plan.ErrTampered):
		return fmt.Errorf("plan %s was not made against this state, or was edited after it was made; run plan again", planPath)
	case err != nil:
		return fmt.Errorf("plan %s: %w; run plan again", planPath, err)
	}
	if err := apply.Check(p, apply.Expect{Lineage: snap.Lineage, Serial: snap.Serial, ConfigDigest: cfg.Digest(), Target: tgt.Describe()}); err != nil {
		return err
	}
	if len(p.Changes) == 0 {
		fmt.Fprintln(c.App.Writer, "No changes. Nothing to apply.")
		return nil
	}
	if vr, ok := tgt.(apply.VersionReader); ok {
		if c.Bool("ignore-drift") {
			log.Warn("Skipping the drift check (--ignore-drift): changes made in the target since the plan may be overwritten.")
		} else if err := apply.CheckDrift(ctx, p, vr); err != nil {
			return err
		}
	}
	if _, err := locked.BumpSerial(); err != nil {
		return err
	}
	run := state.Run{ID: newRunID(), Operation: "apply", Started: time.Now().UTC()}
	res, applyErr := apply.Run(ctx, p, tgt, locked, apply.Options{Parallelism: c.Int("parallelism"), Log: log})
	run.Finished = time.Now().UTC()
	run.Counts = map[string]int{}
	for a, n := range res.Done {
		run.Counts[a.String()] = n
	}
	run.Counts["failed"] = len(res.Failed)
	run.Counts["skipped"] = res.Skipped
	switch {
	case applyErr == nil:
		run.Status = "success"
	case errors.Is(applyErr, context.Canceled):
		run.Status = "interrupted"
	default:
		run.Status = "failure"
	}
	for _, f := range res.Failed {
		run.Errors = append(run.Errors, f.Error())
	}
	summary := fmt.Sprintf("%d added, %d adopted, %d changed, %d renamed, %d destroyed", res.Done[plan.Create], res.Done[plan.Adopt], res.Done[plan.Update], res.Done[plan.Rename], res.Done[plan.Delete])
	run.Message = summary
	if rerr := locked.AddRun(run); rerr != nil {
		log.Error("Could not record the run in the state history.", "err", rerr)
	}
	switch {
	case applyErr == nil:
		fmt.Fprintf(c.App.Writer, "Apply complete! Objects: %s.\n", summary)
		if aa, ok := tgt.(afterApplier); ok {
			return aa.AfterApply(ctx, p, c.App.Writer)
		}
		return nil
	case errors.Is(applyErr, context.Canceled):
		fmt.Fprintf(c.App.Writer, "Apply interrupted: %s; %d not started. Run plan again to see what is left.\n", summary, res.Skipped)
		return &codeError{code: exitInterrupted, err: fmt.Errorf("apply interrupted; the state records the %d changes that were made", res.Done[plan.Create]+res.Done[plan.Adopt]+res.Done[plan.Update]+res.Done[plan.Rename]+res.Done[plan.Delete])}
	default:
		fmt.Fprintf(c.App.Writer, "Apply failed: %s; %d failed, %d not started.\n", summary, len(res.Failed), res.Skipped)
		return fmt.Errorf("apply: %w\nThe state records what succeeded; fix the cause and run plan again", applyErr)
	}
}
