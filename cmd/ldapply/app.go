package main

import (
	"io"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ldapply/ldapply/plan"
)

func configFlag() cli.Flag {
	return &cli.StringFlag{Name: "config", Aliases: []string{"c"}, Value: "./ldapply.yaml", EnvVars: []string{"LDAPPLY_CONFIG"}, Usage: "configuration `FILE`"}
}

// lockTimeoutFlag is --lock-timeout of one command: its default differs
// between commands, so each has its own variable, LDAPPLY_<COMMAND>_LOCK_TIMEOUT
// (command "state list" is STATE_LIST).
func lockTimeoutFlag(command string, def time.Duration) cli.Flag {
	env := "LDAPPLY_" + strings.ToUpper(strings.ReplaceAll(command, " ", "_")) + "_LOCK_TIMEOUT"
	return &cli.DurationFlag{Name: "lock-timeout", Value: def, EnvVars: []string{env}, Usage: "wait up to `DURATION` for a state lock held by another run"}
}

func metricsFlag() cli.Flag {
	return &cli.StringFlag{Name: "metrics-file", EnvVars: []string{"LDAPPLY_METRICS_FILE"}, Usage: "write Prometheus text-format metrics to `PATH` (node_exporter textfile collector) after the run"}
}

// auditFlags are apply's and sync's: the full record of every change,
// and the bound on the per-change lines of the log.
func auditFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "audit-log", EnvVars: []string{"LDAPPLY_AUDIT_LOG"}, Usage: "append one JSON line per change with its outcome (applied, failed, skipped) to `FILE`, written as each change finishes"},
		&cli.IntFlag{Name: "log-changes", Value: defaultChangeLines, EnvVars: []string{"LDAPPLY_LOG_CHANGES"}, Usage: "name at most `N` changes applied in the log, one line each; the phase summaries count the rest (failures and warnings are always logged; 0: no limit)"},
	}
}

// defaultChangeLines bounds the per-change lines of a log, so that a CI
// job log stays small whatever the plan size; --audit-log has them all.
const defaultChangeLines = 200

func allowDeletesFlag() cli.Flag {
	return &cli.IntFlag{Name: "allow-deletes", Usage: "allow this run up to `N` deletes beyond safety.max_deletes / max_delete_percent (command line only, never from the environment)"}
}

func parallelismFlag() cli.Flag {
	return &cli.IntFlag{Name: "parallelism", Value: 10, EnvVars: []string{"LDAPPLY_PARALLELISM"}, Usage: "at most `N` changes in flight at once; apply sends fewer while the target reports contention (conflicts, 429, 503) and grows back towards this"}
}

func noColorFlag() cli.Flag {
	return &cli.BoolFlag{Name: "no-color", EnvVars: []string{"LDAPPLY_NO_COLOR"}, Usage: "print no colours, even on a terminal (NO_COLOR set to any non-empty value does the same)"}
}

func forceColorFlag() cli.Flag {
	return &cli.BoolFlag{Name: "force-color", EnvVars: []string{"LDAPPLY_FORCE_COLOR"}, Usage: "colour the plan also when stdout is no terminal, for CI logs that show colours (--no-color wins)"}
}

func ignoreDriftFlag() cli.Flag {
	return &cli.BoolFlag{Name: "ignore-drift", Usage: "apply even when objects changed in the target since the plan (emergencies only; command line only, never from the environment)"}
}

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
		Before:         func(c *cli.Context) error { return checkEnv(c, stderr) },
		Commands: []*cli.Command{
			{
				Name:      "plan",
				Usage:     "read the directory and the target and show (and save) the changes",
				UsageText: "ldapply plan [--config FILE] [--out PLANFILE] [--detailed-exitcode] [--json] [--allow-deletes N]\n\nExample:\n   ldapply plan --out sync.plan --detailed-exitcode",
				Flags: []cli.Flag{
					configFlag(),
					&cli.StringFlag{Name: "out", Aliases: []string{"o"}, EnvVars: []string{"LDAPPLY_OUT"}, Usage: "write the plan to `PLANFILE` for apply"},
					&cli.BoolFlag{Name: "detailed-exitcode", EnvVars: []string{"LDAPPLY_DETAILED_EXITCODE"}, Usage: "exit 0 when there are no changes, 2 when there are, 1 on error"},
					&cli.BoolFlag{Name: "json", EnvVars: []string{"LDAPPLY_JSON"}, Usage: "print the plan as JSON (the show --json document) instead of text"},
					&cli.BoolFlag{Name: "fail-on-delete", EnvVars: []string{"LDAPPLY_FAIL_ON_DELETE"}, Usage: "exit 4 when the plan deletes anything (a CI policy); the plan file is still written, for review"},
					allowDeletesFlag(),
					metricsFlag(),
					lockTimeoutFlag("plan", 10*time.Second),
					noColorFlag(),
					forceColorFlag(),
				},
				Action: cmdPlan,
			},
			{
				Name:      "show",
				Usage:     "render a saved plan",
				UsageText: "ldapply show [--json | --markdown] [--max-chars N] [--gitlab-report FILE] PLANFILE\n\nExample:\n   ldapply show --markdown --gitlab-report tfplan.json sync.plan > comment.md",
				Flags: []cli.Flag{
					&cli.BoolFlag{Name: "json", EnvVars: []string{"LDAPPLY_SHOW_JSON"}, Usage: "machine-readable JSON (docs: format_version)"},
					&cli.BoolFlag{Name: "markdown", EnvVars: []string{"LDAPPLY_MARKDOWN"}, Usage: "Markdown for a merge-request comment"},
					&cli.IntFlag{Name: "max-chars", EnvVars: []string{"LDAPPLY_MARKDOWN_MAX_CHARS"}, Value: plan.DefaultMarkdownChars, Usage: "the most `CHARACTERS` --markdown writes (GitHub takes 65536 in a comment, GitLab 1000000); longer plans are cut, section by section"},
					&cli.StringFlag{Name: "gitlab-report", EnvVars: []string{"LDAPPLY_GITLAB_REPORT"}, Usage: "also write GitLab's Terraform report (create, update and delete counts, for artifacts:reports:terraform) to `FILE`; - writes it to stdout instead of the plan"},
					noColorFlag(),
					forceColorFlag(),
				},
				Action: cmdShow,
			},
			{
				Name:      "apply",
				Usage:     "execute exactly the changes of a saved plan, under the state lock",
				UsageText: "ldapply apply [--config FILE] [--parallelism N] [--ignore-drift] [--audit-log FILE] [--log-changes N] PLANFILE\n\nExample:\n   ldapply apply --audit-log /var/log/ldapply/audit.jsonl sync.plan",
				Flags: append([]cli.Flag{
					configFlag(),
					parallelismFlag(),
					ignoreDriftFlag(),
					metricsFlag(),
					lockTimeoutFlag("apply", 0),
				}, auditFlags()...),
				Action: cmdApply,
			},
			{
				Name:      "sync",
				Usage:     "plan and apply in one run, for timers and cron (every safety guard still applies)",
				UsageText: "ldapply sync --auto-approve [--config FILE] [--allow-deletes N] [--metrics-file PATH] [--audit-log FILE] [--log-changes N]\n\nExample (systemd timer, cron):\n   ldapply sync --auto-approve --config /etc/ldapply/prod.yaml --metrics-file /var/lib/node_exporter/ldapply.prom",
				Flags: append([]cli.Flag{
					configFlag(),
					&cli.BoolFlag{Name: "auto-approve", Usage: "apply without a reviewed plan file (command line only, never from the environment)"},
					allowDeletesFlag(),
					parallelismFlag(),
					ignoreDriftFlag(),
					metricsFlag(),
					lockTimeoutFlag("sync", 0),
					noColorFlag(),
					forceColorFlag(),
				}, auditFlags()...),
				Action: cmdSync,
			},
			{
				Name:      "status",
				Usage:     "show the state and the last runs",
				UsageText: "ldapply status [--config FILE] [--json] [--runs N]\n\nExample:\n   ldapply status --runs 5",
				Flags: []cli.Flag{
					configFlag(),
					&cli.BoolFlag{Name: "json", EnvVars: []string{"LDAPPLY_STATUS_JSON"}, Usage: "machine-readable output"},
					&cli.IntFlag{Name: "runs", Value: 10, EnvVars: []string{"LDAPPLY_STATUS_RUNS"}, Usage: "show the last `N` runs"},
					lockTimeoutFlag("status", 2*time.Second),
				},
				Action: cmdStatus,
			},
			{
				Name:      "completion",
				Usage:     "print a shell completion script",
				UsageText: "ldapply completion bash|zsh|fish\n\nExample:\n   ldapply completion bash > /etc/bash_completion.d/ldapply",
				Action:    cmdCompletion,
			},
			{
				Name:   "man",
				Usage:  "print the man page (roff)",
				Hidden: true,
				Action: func(c *cli.Context) error {
					page, err := c.App.ToMan()
					if err != nil {
						return err
					}
					_, err = io.WriteString(c.App.Writer, page)
					return err
				},
			},
			{
				Name:  "state",
				Usage: "inspect or edit the state",
				Subcommands: append([]*cli.Command{
					{Name: "list", Usage: "list managed objects", UsageText: "ldapply state list [--config FILE]\n\nExample:\n   ldapply state list --config prod.yaml", Flags: []cli.Flag{configFlag(), lockTimeoutFlag("state list", 10*time.Second)}, Action: cmdStateList},
					{Name: "show", Usage: "show the binding of one object by primary key, id or name", UsageText: "ldapply state show [--config FILE] KEY\n\nExample:\n   ldapply state show alice", Flags: []cli.Flag{configFlag(), lockTimeoutFlag("state show", 10*time.Second)}, Action: cmdStateShow},
					{Name: "rm", Usage: "forget an object: ldapply stops managing it and leaves it in the target", UsageText: "ldapply state rm [--config FILE] KEY\n\nExample:\n   ldapply state rm 9f1c2e0a-7b10-1041-9a86-757c11bacf73", Flags: []cli.Flag{configFlag(), lockTimeoutFlag("state rm", 0)}, Action: cmdStateRm},
				}, extraStateCommands...),
			},
			{
				Name:      "force-unlock",
				Usage:     "remove a lock record whose holder is gone",
				UsageText: "ldapply force-unlock [--config FILE] LOCK_ID\n\nExample:\n   ldapply force-unlock 0c5e7d4a-2f1b-4c8e-9a77-1d2e3f4a5b6c",
				Flags:     []cli.Flag{configFlag()},
				Action:    cmdForceUnlock,
			},
			{
				Name:      "validate",
				Usage:     "check the configuration without connecting anywhere, except to a SCIM target, whose capabilities it reads",
				UsageText: "ldapply validate [--config FILE]\n\nExample:\n   ldapply validate --config prod.yaml",
				Flags:     []cli.Flag{configFlag()},
				Action:    cmdValidate,
			},
			{
				Name:      "version",
				Usage:     "print the version, the commit it was built from and the Go version",
				UsageText: "ldapply version\n\nExample:\n   ldapply version",
				Action:    cmdVersion,
			},
			commentCommand(),
			teamwireCommand(),
		},
	}
	usageErrors(app)
	return app
}
