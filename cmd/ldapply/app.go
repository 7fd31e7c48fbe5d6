package main

import (
	"io"
	"time"

	"github.com/urfave/cli/v2"
)

func configFlag() cli.Flag {
	return &cli.StringFlag{Name: "config", Aliases: []string{"c"}, Value: "./ldapply.yaml", EnvVars: []string{"LDAPPLY_CONFIG"}, Usage: "configuration `FILE`"}
}

func lockTimeoutFlag(def time.Duration) cli.Flag {
	return &cli.DurationFlag{Name: "lock-timeout", Value: def, EnvVars: []string{"LDAPPLY_LOCK_TIMEOUT"}, Usage: "how long to wait for a state lock held by another run"}
}

// extraCommands are commands defined in their own files (appended in init).
var extraCommands []*cli.Command

func newApp(stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:    "ldapply",
		Usage:   "keep targets in step with an LDAP directory: plan, review, apply",
		Version: version,
		Writer:  stdout, ErrWriter: stderr,
		HideHelpCommand:      true,
		EnableBashCompletion: true,
		// Errors are printed once, by Main.
		ExitErrHandler: func(*cli.Context, error) {},
		Commands: []*cli.Command{
			{
				Name:      "plan",
				Usage:     "read the directory and the target and show (and save) the changes",
				UsageText: "ldapply plan [--config FILE] [--out PLANFILE] [--detailed-exitcode] [--json]\n\nExample:\n   ldapply plan --out sync.plan",
				Flags: []cli.Flag{
					configFlag(),
					&cli.StringFlag{Name: "out", Aliases: []string{"o"}, EnvVars: []string{"LDAPPLY_OUT"}, Usage: "write the plan to `PLANFILE` for apply"},
					&cli.BoolFlag{Name: "detailed-exitcode", EnvVars: []string{"LDAPPLY_DETAILED_EXITCODE"}, Usage: "exit 0 when there are no changes, 2 when there are, 1 on error"},
					&cli.BoolFlag{Name: "json", EnvVars: []string{"LDAPPLY_JSON"}, Usage: "print the plan as JSON (the show --json document) instead of text"},
					&cli.IntFlag{Name: "allow-deletes", EnvVars: []string{"LDAPPLY_ALLOW_DELETES"}, Usage: "allow this run up to `N` deletes beyond safety.max_deletes / max_delete_percent"},
					lockTimeoutFlag(10 * time.Second),
				},
				Action: cmdPlan,
			},
			{
				Name:      "show",
				Usage:     "render a saved plan",
				UsageText: "ldapply show [--json | --markdown] PLANFILE\n\nExample:\n   ldapply show --markdown sync.plan > comment.md",
				Flags: []cli.Flag{
					&cli.BoolFlag{Name: "json", EnvVars: []string{"LDAPPLY_SHOW_JSON"}, Usage: "machine-readable JSON (docs: format_version)"},
					&cli.BoolFlag{Name: "markdown", EnvVars: []string{"LDAPPLY_MARKDOWN"}, Usage: "Markdown for a merge-request comment"},
				},
				Action: cmdShow,
			},
			{
				Name:      "apply",
				Usage:     "execute exactly the changes of a saved plan, under the state lock",
				UsageText: "ldapply apply [--config FILE] [--parallelism N] PLANFILE\n\nExample:\n   ldapply apply sync.plan",
				Flags: []cli.Flag{
					configFlag(),
					&cli.IntFlag{Name: "parallelism", Value: 10, EnvVars: []string{"LDAPPLY_PARALLELISM"}, Usage: "changes in flight at once within a phase"},
					&cli.BoolFlag{Name: "ignore-drift", EnvVars: []string{"LDAPPLY_IGNORE_DRIFT"}, Usage: "apply even when objects changed in the target since the plan (emergencies only)"},
					lockTimeoutFlag(0),
				},
				Action: cmdApply,
			},
			{
				Name:  "state",
				Usage: "inspect or edit the state",
				Subcommands: []*cli.Command{
					{Name: "list", Usage: "list managed objects", UsageText: "ldapply state list [--config FILE]", Flags: []cli.Flag{configFlag(), lockTimeoutFlag(10 * time.Second)}, Action: cmdStateList},
					{Name: "show", Usage: "show the binding of one object by primary key, id or name", UsageText: "ldapply state show [--config FILE] KEY", Flags: []cli.Flag{configFlag(), lockTimeoutFlag(10 * time.Second)}, Action: cmdStateShow},
					{Name: "rm", Usage: "forget an object: ldapply stops managing it and leaves it in the target", UsageText: "ldapply state rm [--config FILE] KEY", Flags: []cli.Flag{configFlag(), lockTimeoutFlag(0)}, Action: cmdStateRm},
				},
			},
			{
				Name:      "force-unlock",
				Usage:     "remove a lock record whose holder is gone",
				UsageText: "ldapply force-unlock [--config FILE] LOCK_ID",
				Flags:     []cli.Flag{configFlag()},
				Action:    cmdForceUnlock,
			},
			{
				Name:      "validate",
				Usage:     "check the configuration without connecting anywhere",
				UsageText: "ldapply validate [--config FILE]",
				Flags:     []cli.Flag{configFlag()},
				Action:    cmdValidate,
			},
			{
				Name:  "version",
				Usage: "print the version",
				Action: func(c *cli.Context) error {
					_, err := io.WriteString(c.App.Writer, "ldapply "+version+"\n")
					return err
				},
			},
		},
	}
	app.Commands = append(app.Commands, extraCommands...)
	return app
}
