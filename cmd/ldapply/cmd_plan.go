package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/planfile"
	"github.com/ldapply/ldapply/providers/ldap"
	"github.com/ldapply/ldapply/providers/prefetch"
	"github.com/ldapply/ldapply/state"
)

// planned is a plan made in memory, with what made it.
type planned struct {
	plan    *plan.Plan
	snap    *state.Snapshot
	managed map[plan.Kind]int // objects in the state before the plan
}

// makePlan reads the state, the source and the target and computes the
// plan; it applies the source-size guard but not the delete guard (see
// checkDeletes), so a refused plan can still be shown.
func makePlan(ctx context.Context, cfg *Config, tgt target, store state.Backend, lockTimeout time.Duration, log *slog.Logger) (*planned, error) {
	// A plan holds the whole directory and target in memory while the
	// reads' decoders churn through garbage: collecting at 75 % growth
	// instead of Go's 100 % lowers a large plan's peak memory for a
	// little more CPU; lower settings cost far more CPU for little more
	// memory (bench/fast-paths.md has the figures).
	// GOGC set in the environment wins; apply keeps Go's default.
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(75))
	}
	if err := store.Init(ctx, lockTimeout); err != nil {
		return nil, err
	}
	// A failed read also stops the others.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// The state is read while the directory and the target are; a state
	// that cannot be read (locked, say) stops them at once, and its error
	// is the one reported.
	readState := func(ctx context.Context) (*state.Snapshot, error) {
		snap, err := store.Read(ctx, lockTimeout)
		if err != nil {
			cancel(err)
		}
		return snap, err
	}
	stateRead := prefetch.Start(ctx, readState)
	var err error
	dir := &plan.Directory{}
	if needsSource(tgt) {
		if pf, ok := tgt.(prefetcher); ok {
			pf.Prefetch(ctx)
		}
		src := ldap.New(cfg.Source, log)
		if ar, ok := tgt.(attributeReader); ok {
			src.UserAttributes = ar.SourceAttributes()
		}
		bar := newProgress(progressOut, "reading the directory", "entries", -1)
		read := 0
		src.Progress = func(n int) { read += n; bar.Set(read, -1) }
		dir, err = src.Read(ctx)
		bar.Finish()
		if err != nil {
			if cause := context.Cause(ctx); ctx.Err() != nil && cause != ctx.Err() {
				return nil, cause // the state's error stopped the read
			}
			return nil, err
		}
		if err := checkSourceSize(cfg, dir); err != nil {
			return nil, err
		}
	}
	snap, err := prefetch.Take(ctx, &stateRead, readState)
	if err != nil {
		return nil, err
	}
	managed := countManaged(snap.Bindings)
	bindings, held := dir.HoldReferred(snap.Bindings)
	warnings := referralWarnings(cfg, dir, held)
	if snap.Serial == 0 && sum(managed) == 0 {
		// Nothing was ever applied with this state: a state.path that
		// points elsewhere than meant would make every object an adopt
		// or a create, and this line is what tells the reviewer.
		warnings = append([]string{fmt.Sprintf("No state at %s: this plan starts a new one. If ldapply already manages this target, point state.path (or state.postgres) at that state; a relative state.path is relative to the configuration file", store)}, warnings...)
	}
	// Plan owns dir from here on and may release its entries as it goes.
	p, err := tgt.Plan(ctx, dir, bindings)
	if err != nil {
		return nil, err
	}
	p.Warnings = append(p.Warnings, warnings...)
	p.FormatVersion = planfile.FormatVersion
	p.ToolVersion = version
	p.Created = time.Now().UTC().Truncate(time.Second)
	p.Lineage, p.Serial = snap.Lineage, snap.Serial
	p.ConfigDigest = cfg.Digest()
	p.Config, p.State = cfg.path, store.String()
	p.Source = cfg.Source.URI
	p.Target = tgt.Describe()
	return &planned{plan: p, snap: snap, managed: managed}, nil
}

func cmdPlan(c *cli.Context) (err error) {
	if c.NArg() > 0 {
		return fmt.Errorf("plan takes no arguments; did you mean --out %s?", c.Args().First())
	}
	started := time.Now()
	ctx := c.Context
	log := newLogger(c.App.ErrWriter)
	cfg, err := loadConfig(c.String("config"))
	if err != nil {
		return err
	}
	var pl *planned
	defer func() { writeMetrics(c.String("metrics-file"), "plan", started, pl, nil, err, log) }()
	tgt, err := newTarget(cfg, log)
	if err != nil {
		return err
	}
	store, err := cfg.stateBackend(log)
	if err != nil {
		return err
	}
	if pl, err = makePlan(ctx, cfg, tgt, store, c.Duration("lock-timeout"), log); err != nil {
		return err
	}
	p := pl.plan
	format := plan.FormatText
	if c.Bool("json") {
		format = plan.FormatJSON
	}
	// The plan file is written while the plan is shown (both only read
	// p), and takes its name once the delete guard has passed.
	out := c.String("out")
	var written <-chan planTemp
	if out != "" {
		written = startPlanWrite(out, p, pl.snap.SignKey)
	}
	err = plan.Render(c.App.Writer, p, format, plan.RenderOptions{Color: colorOK(c.App.Writer, c)})
	// The guard runs after rendering, so the reviewer sees what the
	// refused plan would have deleted; no plan file is written.
	if err == nil {
		err = checkDeletes(cfg, p, pl.managed, c.Int("allow-deletes"), "plan")
	}
	if out != "" {
		w := <-written
		if err == nil {
			err = w.err
		}
		if err == nil {
			if rerr := os.Rename(w.name, out); rerr != nil {
				err = fmt.Errorf("write plan %s: %w", out, rerr)
			}
		}
		if err != nil && w.name != "" {
			os.Remove(w.name)
		}
	}
	if err != nil {
		return err
	}
	if out != "" && format == plan.FormatText {
		if len(p.Changes) == 0 {
			// The file is still written, so a pipeline that always
			// applies its plan works; apply reports nothing to do.
			fmt.Fprintf(c.App.Writer, "\nSaved the plan to %s. It has no changes, so there is nothing to apply.\n", out)
		} else {
			fmt.Fprintf(c.App.Writer, "\nSaved the plan to %s. To perform exactly these actions, run:\n    ldapply apply %s\n", out, out)
		}
	}
	if s := p.Summarize(); s.Destroy > 0 && c.Bool("fail-on-delete") {
		return &codeError{code: exitDeletes, err: fmt.Errorf("the plan deletes %s and --fail-on-delete is set: have the deletes reviewed (ldapply show --markdown lists them first), then plan without --fail-on-delete to apply them", plan.DeletesLine(p))}
	}
	if c.Bool("detailed-exitcode") && len(p.Changes) > 0 {
		return &codeError{code: exitChanges}
	}
	return nil
}

func sum(m map[plan.Kind]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// progressOut receives progress bars and lines (stderr; tests may swap it).
var progressOut io.Writer = os.Stderr

// referralWarnings tells the reviewer which searches the server
// referred elsewhere and how many managed objects are therefore kept.
func referralWarnings(cfg *Config, dir *plan.Directory, held map[plan.Kind]int) []string {
	var out []string
	for _, k := range plan.Kinds {
		urls, ok := dir.Referred[k]
		if !ok {
			continue
		}
		what, base := "users", cfg.Source.Users.Base
		if k == plan.KindGroup {
			what, base = "groups", cfg.Source.Groups.Base
		}
		out = append(out, fmt.Sprintf("the LDAP server does not hold source.%s.base %s and referred the search %s, so no %s were read; the %d managed %s not read are kept as they are this run: point source.uri at the server that holds the base, or fix the base",
			what, base, referredTo(urls), what, held[k], what))
	}
	return out
}

// referredTo is "to URL, URL" or "elsewhere" when the server named none.
func referredTo(urls []string) string {
	if len(urls) == 0 {
		return "elsewhere"
	}
	return "to " + strings.Join(urls, ", ")
}

func needsSource(t target) bool {
	sl, ok := t.(sourceless)
	return !ok || sl.NeedsSource()
}

// planTemp is a plan written next to its final name, or the error.
type planTemp struct {
	name string
	err  error
}

// startPlanWrite writes the plan to a temporary file next to path, in the
// background. The caller renames it into place, so a reader never sees
// half a plan, or removes it. The file is readable by its owner only:
// plans name every managed object.
func startPlanWrite(path string, p *plan.Plan, key []byte) <-chan planTemp {
	done := make(chan planTemp, 1)
	go func() {
		tmp, err := os.CreateTemp(filepath.Dir(path), ".ldapply-plan-*")
		if err != nil {
			done <- planTemp{err: fmt.Errorf("write plan: %w", err)}
			return
		}
		err = planfile.Write(tmp, p, key)
		if err == nil {
			if err = tmp.Sync(); err != nil {
				err = fmt.Errorf("write plan %s: %w", path, err)
			}
		}
		if cerr := tmp.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("write plan %s: %w", path, cerr)
		}
		if err != nil {
			os.Remove(tmp.Name())
			done <- planTemp{err: err}
			return
		}
		done <- planTemp{name: tmp.Name()}
	}()
	return done
}
