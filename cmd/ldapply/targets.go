package main

import (
	"github.com/ldapply/ldapply/apply"
	"github.com/ldapply/ldapply/providers/icinga"
	"github.com/ldapply/ldapply/providers/scim"
	"github.com/ldapply/ldapply/providers/teamwire"
	"github.com/ldapply/ldapply/providers/udm"
)

// The targets this ldapply knows: one line each (see
// docs/writing-a-target.md).
func init() {
	registerTarget(kindOf("icinga", icinga.New))
	registerTarget(kindOf("udm", udm.New))
	registerTarget(kindOf("teamwire", teamwire.New))
	registerTarget(kindOf("scim", scim.New))
}

// The optional interfaces each target is known to implement.
var (
	_ apply.VersionReader = (*icinga.Provider)(nil)
	_ sourceless          = (*teamwire.Provider)(nil)
	_ afterApplier        = (*teamwire.Provider)(nil)
)
