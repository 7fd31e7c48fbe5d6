package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/state"
)

// extraStateCommands are subcommands of "state" defined in their own
// files; app.go appends them to the state command.
var extraStateCommands []*cli.Command

func init() {
	extraStateCommands = append(extraStateCommands,
		&cli.Command{
			Name:  "migrate",
			Usage: "move the state to another backend (bbolt file, PostgreSQL) keeping its lineage, serial and sign key",
			UsageText: "ldapply state migrate --from CONFIG_A --to CONFIG_B [--force] [--lock-timeout D]\n\n" +
				"Both states are locked during the move. The destination must be empty (or hold an earlier copy of the\n" +
				"same state at an earlier serial). Plans made before the move apply to the destination; the source's\n" +
				"serial is bumped, so they no longer apply to the source.\n\n" +
				"Example:\n   ldapply state migrate --from ldapply.yaml --to ldapply-pg.yaml",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "from", Required: true, EnvVars: []string{"LDAPPLY_MIGRATE_FROM"}, Usage: "configuration `FILE` whose state is moved"},
				&cli.StringFlag{Name: "to", Required: true, EnvVars: []string{"LDAPPLY_MIGRATE_TO"}, Usage: "configuration `FILE` whose state receives it"},
				&cli.BoolFlag{Name: "force", EnvVars: []string{"LDAPPLY_MIGRATE_FORCE"}, Usage: "overwrite a destination holding the same state at a later serial (a copy retired by an earlier migrate); plans made before must be made again"},
				lockTimeoutFlag("state migrate", 0),
			},
			Action: cmdStateMigrate,
		},
		&cli.Command{
			Name:  "pull",
			Usage: "print the whole state as JSON (it holds the plan-signing key: keep it secret)",
			UsageText: "ldapply state pull [--config FILE] [--out FILE]\n\n" +
				"Example:\n   ldapply state pull --out backup.json",
			Flags: []cli.Flag{
				configFlag(),
				&cli.StringFlag{Name: "out", Aliases: []string{"o"}, EnvVars: []string{"LDAPPLY_PULL_OUT"}, Usage: "write to `FILE` (mode 0600) instead of stdout"},
				lockTimeoutFlag("state pull", 10*time.Second),
			},
			Action: cmdStatePull,
		},
		&cli.Command{
			Name:  "push",
			Usage: "replace an empty state (or an earlier copy of the same one) with a state pulled as JSON",
			UsageText: "ldapply state push [--config FILE] FILE|-\n\n" +
				"Example:\n   ldapply state push --config ldapply-pg.yaml backup.json",
			Flags:  []cli.Flag{configFlag(), lockTimeoutFlag("state push", 0)},
			Action: cmdStatePush,
		},
	)
}

// stateImporter is a Session that can replace its whole state, lineage,
// serial and sign key included, with a snapshot (pgstate.Session). It
// refuses a destination holding another lineage or a later serial.
type stateImporter interface {
	Import(s *state.Snapshot) error
}

// migrateRunOp is the run history's operation name for a migration.
const migrateRunOp = "state migrate"

func cmdStateMigrate(c *cli.Context) (err error) {
	if c.NArg() != 0 {
		return errors.New("state migrate takes no arguments; name the configurations with --from and --to")
	}
	fromCfg, err := loadConfig(c.String("from"))
	if err != nil {
		return fmt.Errorf("--from: %w", err)
	}
	toCfg, err := loadConfig(c.String("to"))
	if err != nil {
		return fmt.Errorf("--to: %w", err)
	}
	from, err := fromCfg.stateBackend(newLogger(c.App.ErrWriter))
	if err != nil {
		return fmt.Errorf("--from: %w", err)
	}
	to, err := toCfg.stateBackend(newLogger(c.App.ErrWriter))
	if err != nil {
		return fmt.Errorf("--to: %w", err)
	}
	if from.String() == to.String() {
		return fmt.Errorf("--from and --to name the same state %s; there is nothing to move", from)
	}
	ctx, timeout := c.Context, c.Duration("lock-timeout")
	info := state.NewLockInfo(migrateRunOp, version)
	src, err := from.Lock(ctx, info, timeout)
	if err != nil {
		return err
	}
	defer func() {
		if uerr := src.Unlock(); uerr != nil && err == nil {
			err = uerr
		}
	}()
	snap, err := src.Snapshot()
	if err != nil {
		return err
	}
	dst, err := to.Lock(ctx, info, timeout)
	if err != nil {
		return err
	}
	defer func() {
		if uerr := dst.Unlock(); uerr != nil && err == nil {
			err = uerr
		}
	}()
	imp, ok := dst.(stateImporter)
	if !ok {
		return fmt.Errorf("the state %s cannot receive a migrated state: its backend cannot set a lineage and sign key in this ldapply", to)
	}
	cur, err := dst.Snapshot()
	if err != nil {
		return err
	}
	imported, keepsPlans := *snap, true
	if cur.Lineage == snap.Lineage && cur.Serial > snap.Serial {
		if !c.Bool("force") {
			return fmt.Errorf("the state %s already holds this state (lineage %s) at serial %d, later than the %d of %s: it is a copy retired by an earlier migrate, or it was used after one. If %s is the copy to keep, run again with --force; plans made before will have to be made again",
				to, cur.Lineage, cur.Serial, snap.Serial, from, from)
		}
		// The serial never goes backwards, so the moved state continues
		// after the destination's.
		imported.Serial, keepsPlans = cur.Serial+1, false
	}
	started := time.Now().UTC()
	if err := imp.Import(&imported); err != nil {
		return err
	}
	if err := dst.AddRun(state.Run{ID: newRunID(), Operation: migrateRunOp, Started: started, Finished: time.Now().UTC(), Status: state.StatusSuccess,
		Message: fmt.Sprintf("state moved here from %s", from)}); err != nil {
		return err
	}
	// Retire the source: plans made before the move now apply only to
	// the destination, so one plan cannot be applied to both.
	serial, err := src.BumpSerial()
	if err != nil {
		return fmt.Errorf("the state was copied to %s, but its source could not be retired (%w); do not use %s any more", to, err, from)
	}
	if err := src.AddRun(state.Run{ID: newRunID(), Operation: migrateRunOp, Started: started, Finished: time.Now().UTC(), Status: state.StatusSuccess,
		Message: fmt.Sprintf("state moved to %s; this copy is retired", to)}); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "Moved the state (lineage %s, serial %d, %d objects, %d runs) from %s to %s.\n", snap.Lineage, imported.Serial, countBindings(snap.Bindings), len(snap.Runs), from, to)
	if keepsPlans {
		fmt.Fprintf(c.App.Writer, "Plans made before the move apply to %s only: the old state now has serial %d. Point every job at %s.\n", to, serial, c.String("to"))
	} else {
		fmt.Fprintf(c.App.Writer, "Plans made before the move apply nowhere (--force moved the serial on); make them again. Point every job at %s.\n", c.String("to"))
	}
	return nil
}

func countBindings(bs plan.Bindings) int {
	n := 0
	for _, m := range bs {
		n += len(m)
	}
	return n
}

// stateDocVersion is the version of the state pull/push JSON document.
const stateDocVersion = 1

// stateDoc is the JSON document of state pull and state push.
type stateDoc struct {
	FormatVersion int            `json:"format_version"`
	Lineage       string         `json:"lineage"`
	Serial        uint64         `json:"serial"`
	SignKey       []byte         `json:"sign_key"` // base64
	Bindings      []plan.Binding `json:"bindings"`
	Runs          []state.Run    `json:"runs"`
}

func cmdStatePull(c *cli.Context) error {
	if c.NArg() != 0 {
		return errors.New("state pull takes no arguments")
	}
	store, err := openState(c)
	if err != nil {
		return err
	}
	snap, err := store.Read(c.Context, c.Duration("lock-timeout"))
	if err != nil {
		return err
	}
	if snap.Lineage == "" {
		return fmt.Errorf("the state %s does not exist yet; there is nothing to pull", store)
	}
	doc := stateDoc{FormatVersion: stateDocVersion, Lineage: snap.Lineage, Serial: snap.Serial, SignKey: snap.SignKey,
		Bindings: sortedBindings(snap.Bindings), Runs: snap.Runs}
	if doc.Bindings == nil {
		doc.Bindings = []plan.Binding{}
	}
	if doc.Runs == nil {
		doc.Runs = []state.Run{}
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if out := c.String("out"); out != "" {
		if err := os.WriteFile(out, b, 0o600); err != nil {
			return fmt.Errorf("state pull: %w", err)
		}
		return nil
	}
	_, err = c.App.Writer.Write(b)
	return err
}

func cmdStatePush(c *cli.Context) (err error) {
	if c.NArg() != 1 {
		return errors.New("state push needs one argument: a file written by state pull, or - for stdin")
	}
	var data []byte
	if name := c.Args().First(); name == "-" {
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(name)
	}
	if err != nil {
		return fmt.Errorf("state push: %w", err)
	}
	var doc stateDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("state push: %s is not a state pulled with ldapply state pull: %w", c.Args().First(), err)
	}
	if doc.FormatVersion != stateDocVersion {
		return fmt.Errorf("state push: %s has format_version %d, this ldapply reads %d", c.Args().First(), doc.FormatVersion, stateDocVersion)
	}
	if doc.Lineage == "" || len(doc.SignKey) != state.SignKeySize {
		return fmt.Errorf("state push: %s lacks a lineage or a %d-byte sign_key", c.Args().First(), state.SignKeySize)
	}
	snap := &state.Snapshot{Lineage: doc.Lineage, Serial: doc.Serial, SignKey: doc.SignKey, Bindings: plan.Bindings{}, Runs: doc.Runs}
	for _, b := range doc.Bindings {
		snap.Bindings.Add(b)
	}
	store, err := openState(c)
	if err != nil {
		return err
	}
	locked, err := store.Lock(c.Context, state.NewLockInfo("state push", version), c.Duration("lock-timeout"))
	if err != nil {
		return err
	}
	defer func() {
		if uerr := locked.Unlock(); uerr != nil && err == nil {
			err = uerr
		}
	}()
	imp, ok := locked.(stateImporter)
	if !ok {
		return fmt.Errorf("the state %s cannot receive a pushed state: its backend cannot set a lineage and sign key in this ldapply", store)
	}
	if err := imp.Import(snap); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "Pushed the state (lineage %s, serial %d, %d objects, %d runs) to %s.\n", snap.Lineage, snap.Serial, countBindings(snap.Bindings), len(snap.Runs), store)
	return nil
}
