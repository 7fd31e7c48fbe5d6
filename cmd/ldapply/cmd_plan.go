package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/providers/ldap"
)

func cmdPlan(c *cli.Context) error {
	if c.NArg() > 0 {
		return fmt.Errorf("plan takes no arguments; did you mean --out %s?", c.Args().First())
	}
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
	timeout := c.Duration("lock-timeout")
	store, err := cfg.stateBackend()
	if err != nil {
		return err
	}
	if err := store.Init(ctx, timeout); err != nil {
		return err
	}
	snap, err := store.Read(ctx, timeout)
	if err != nil {
		return err
	}
	dir := &plan.Directory{}
	if needsSource(tgt) {
		if dir, err = ldap.New(cfg.Source, log).Read(ctx); err != nil {
			return err
		}
	}
	if needsSource(tgt) {
		if err := checkSourceSize(cfg, dir); err != nil {
			return err
		}
	}
	p, err := tgt.Plan(ctx, dir, snap.Bindings)
	if err != nil {
		return err
	}
	p.FormatVersion = plan.FormatVersion
	p.ToolVersion = version
	p.Created = time.Now().UTC().Truncate(time.Second)
	p.Lineage, p.Serial = snap.Lineage, snap.Serial
	p.ConfigDigest = cfg.Digest()
	p.Source = cfg.Source.URI
	p.Target = tgt.Describe()

	format := plan.FormatText
	if c.Bool("json") {
		format = plan.FormatJSON
	}
	if err := plan.Render(c.App.Writer, p, format, plan.RenderOptions{Color: colorOK(c.App.Writer)}); err != nil {
		return err
	}
	// The guard runs after rendering, so the reviewer sees what the
	// refused plan would have deleted; no plan file is written.
	managed := 0
	for _, m := range snap.Bindings {
		managed += len(m)
	}
	if err := checkDeletes(cfg, p, managed, c.Int("allow-deletes")); err != nil {
		return err
	}
	if out := c.String("out"); out != "" {
		if err := writePlanFile(out, p, snap.SignKey); err != nil {
			return err
		}
		if format == plan.FormatText {
			fmt.Fprintf(c.App.Writer, "\nSaved the plan to %s. To perform exactly these actions, run:\n    ldapply apply %s\n", out, out)
		}
	}
	if c.Bool("detailed-exitcode") && len(p.Changes) > 0 {
		return &codeError{code: exitChanges}
	}
	return nil
}

// writePlanFile writes the plan next to its final name and renames it into
// place, so a reader never sees half a plan. The file is readable by its
// owner only: plans name every managed object.
func writePlanFile(path string, p *plan.Plan, key []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".ldapply-plan-*")
	if err != nil {
		return fmt.Errorf("write plan: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := plan.Write(tmp, p, key); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write plan %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write plan %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write plan %s: %w", path, err)
	}
	return nil
}

func needsSource(t target) bool {
	sl, ok := t.(sourceless)
	return !ok || sl.NeedsSource()
}
