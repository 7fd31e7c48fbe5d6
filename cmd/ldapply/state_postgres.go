package main

import (
	"github.com/ldapply/ldapply/state"
	"github.com/ldapply/ldapply/state/pgstate"
)

func init() {
	openPostgresState = func(c PostgresStateConfig) (state.Backend, error) {
		b, err := pgstate.Open(pgstate.Config{DSN: c.DSN, Schema: c.Schema, Workspace: c.Workspace})
		if err != nil {
			return nil, err
		}
		return b, nil
	}
}
