package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/ldapply/ldapply/providers"
	"github.com/ldapply/ldapply/providers/teamwire"
)

// teamwireCommand is ldapply teamwire. It is made anew for every app, as
// the commands in newApp are: urfave/cli adds its help flag to a
// command the first time it runs.
func teamwireCommand() *cli.Command {
	return &cli.Command{
		Name:  "teamwire",
		Usage: "Teamwire target: LDAP sync status and runs",
		Subcommands: []*cli.Command{
			{
				Name:      "status",
				Usage:     "print each organisation's last sync run: state, time, message, progress and log",
				UsageText: "ldapply teamwire status [--config FILE]\n\nExample:\n   ldapply teamwire status --config ldapply.yaml",
				Flags:     []cli.Flag{configFlag()},
				Action:    cmdTeamwireStatus,
			},
			{
				Name:      "run",
				Usage:     "start a sync run of each organisation and follow it (Ctrl-C aborts it)",
				UsageText: "ldapply teamwire run [--config FILE]\n\nExample:\n   ldapply teamwire run --config ldapply.yaml",
				Flags:     []cli.Flag{configFlag()},
				Action:    cmdTeamwireRun,
			},
		},
	}
}

func teamwireProvider(c *cli.Context) (*teamwire.Provider, error) {
	if c.NArg() > 0 {
		return nil, fmt.Errorf("teamwire %s takes no arguments", c.Command.Name)
	}
	cfg, err := loadConfig(c.String("config"))
	if err != nil {
		return nil, err
	}
	if cfg.Target.Name != "teamwire" {
		return nil, fmt.Errorf("teamwire %s needs target: teamwire in the configuration, which has target: %s", c.Command.Name, cfg.Target.Name)
	}
	return teamwire.New(*cfg.Target.Config.(*teamwire.Config), providers.Env{Source: &cfg.Source, Version: version, Log: newLogger(c.App.ErrWriter)})
}

func cmdTeamwireStatus(c *cli.Context) error {
	p, err := teamwireProvider(c)
	if err != nil {
		return err
	}
	return p.PrintStatus(c.Context, c.App.Writer)
}

func cmdTeamwireRun(c *cli.Context) error {
	p, err := teamwireProvider(c)
	if err != nil {
		return err
	}
	return p.RunAll(c.Context, c.App.Writer)
}
