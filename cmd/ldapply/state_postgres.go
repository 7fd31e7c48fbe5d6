package main

import (
	"log/slog"

	"github.com/ldapply/ldapply/state"
	"github.com/ldapply/ldapply/state/pgstate"
)

func init() {
	openPostgresState = func(c PostgresStateConfig, log *slog.Logger) (state.Backend, error) {
		b, err := pgstate.Open(pgstate.Config{DSN: c.DSN, Schema: c.Schema, Workspace: c.Workspace,
			ConnectTimeout: c.ConnectTimeout, Timeout: c.Timeout, Log: log})
		if err != nil {
			return nil, err
		}
		return b, nil
	}
}
