package main

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"text/tabwriter"

	"github.com/google/uuid"
	"github.com/urfave/cli/v2"

	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/state"
)

func newRunID() string { return uuid.NewString() }

// openState opens the state the --config file names.
func openState(c *cli.Context) (state.Backend, error) {
	cfg, err := loadConfig(c.String("config"))
	if err != nil {
		return nil, err
	}
	return cfg.stateBackend(newLogger(c.App.ErrWriter))
}

// sortedBindings returns every binding, users first, then by name.
func sortedBindings(bs plan.Bindings) []plan.Binding {
	var out []plan.Binding
	for _, m := range bs {
		for _, b := range m {
			out = append(out, b)
		}
	}
	slices.SortFunc(out, func(a, b plan.Binding) int {
		return cmp.Or(cmp.Compare(slices.Index(plan.Kinds, a.Kind), slices.Index(plan.Kinds, b.Kind)), cmp.Compare(a.Name, b.Name), cmp.Compare(a.Key, b.Key))
	})
	return out
}

func cmdStateList(c *cli.Context) error {
	store, err := openState(c)
	if err != nil {
		return err
	}
	snap, err := store.Read(c.Context, c.Duration("lock-timeout"))
	if err != nil {
		return err
	}
	if snap.Lineage == "" {
		fmt.Fprintf(c.App.Writer, "The state %s does not exist yet.\n", store)
		return nil
	}
	tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tNAME\tKEY\tID")
	for _, b := range sortedBindings(snap.Bindings) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", b.Kind, b.Name, b.Key, b.ID)
	}
	return tw.Flush()
}

// findBindings matches arg against primary keys, ids and names.
func findBindings(bs plan.Bindings, arg string) []plan.Binding {
	var out []plan.Binding
	for _, b := range sortedBindings(bs) {
		if b.Key == arg || b.ID == arg || b.Name == arg {
			out = append(out, b)
		}
	}
	return out
}

func cmdStateShow(c *cli.Context) error {
	if c.NArg() != 1 {
		return errors.New("state show needs one argument: a primary key, target id or name")
	}
	store, err := openState(c)
	if err != nil {
		return err
	}
	snap, err := store.Read(c.Context, c.Duration("lock-timeout"))
	if err != nil {
		return err
	}
	found := findBindings(snap.Bindings, c.Args().First())
	if len(found) == 0 {
		return fmt.Errorf("no managed object has the key, id or name %q; see ldapply state list", c.Args().First())
	}
	enc := json.NewEncoder(c.App.Writer)
	enc.SetIndent("", "  ")
	for _, b := range found {
		if err := enc.Encode(b); err != nil {
			return err
		}
	}
	return nil
}

func cmdStateRm(c *cli.Context) (err error) {
	if c.NArg() != 1 {
		return errors.New("state rm needs one argument: a primary key, target id or name")
	}
	store, err := openState(c)
	if err != nil {
		return err
	}
	locked, err := store.Lock(c.Context, state.NewLockInfo("state rm", version), c.Duration("lock-timeout"))
	if err != nil {
		return err
	}
	defer func() {
		if uerr := locked.Unlock(); uerr != nil && err == nil {
			err = uerr
		}
	}()
	snap, err := locked.Snapshot()
	if err != nil {
		return err
	}
	found := findBindings(snap.Bindings, c.Args().First())
	switch len(found) {
	case 0:
		return fmt.Errorf("no managed object has the key, id or name %q; see ldapply state list", c.Args().First())
	case 1:
	default:
		return fmt.Errorf("%q matches %d managed objects; pass the primary key instead (see ldapply state list)", c.Args().First(), len(found))
	}
	b := found[0]
	if _, err := locked.BumpSerial(); err != nil {
		return err
	}
	if err := locked.Remove(b.Kind, b.Key); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "Removed %s %s (key %s, id %s) from the state; ldapply no longer manages it and left it in the target.\n", b.Kind, b.Name, b.Key, b.ID)
	return nil
}

func cmdForceUnlock(c *cli.Context) error {
	if c.NArg() != 1 {
		return errors.New("force-unlock needs one argument: the lock id printed in the \"locked\" error")
	}
	store, err := openState(c)
	if err != nil {
		return err
	}
	info, err := store.ForceUnlock(c.Context, c.Args().First())
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "Removed the lock %s held by %s (%s, pid %d, since %s).\n", info.ID, info.Who, info.Operation, info.PID, info.Created.Format("2006-01-02 15:04:05 MST"))
	return nil
}

func cmdValidate(c *cli.Context) error {
	cfg, err := loadConfig(c.String("config"))
	if err != nil {
		return err
	}
	store, err := cfg.stateBackend(newLogger(c.App.ErrWriter))
	if err != nil {
		return err
	}
	path, err := filepath.Abs(c.String("config"))
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "The configuration %s is valid: source %s (%s), target %s, state %s.\n", path, cfg.Source.URI, cfg.Source.Schema, cfg.Target.Name, store)
	if as := cfg.Source.BindAs(); as != "" {
		// What the bind sends, as written: a user principal name or a
		// down-level logon name is no DN, and only AD takes it.
		fmt.Fprintf(c.App.Writer, "  source.bind_dn: the bind sends %s\n", as)
	}
	// The paths as resolved, relative ones against the configuration's
	// directory: what a reader of the file may not guess.
	for _, f := range cfg.files {
		if f.key != "state.path" {
			fmt.Fprintf(c.App.Writer, "  %s: %s\n", f.key, f.path)
		}
	}
	if !cfg.Target.kind.reports {
		return nil
	}
	tgt, err := newTarget(cfg, newLogger(c.App.ErrWriter))
	if err != nil {
		return err
	}
	return tgt.(serviceReporter).ReportService(c.Context, c.App.Writer)
}
