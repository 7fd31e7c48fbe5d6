// Package providertest is a conformance suite for ldapply's target
// providers, in the spirit of state/statetest: one suite, and small
// hooks each target supplies. A target passes when [Run] succeeds
// against its simulator.
//
// The source is a real slapd (fixtures/slapd) holding a small
// directory; every plan and apply goes the way cmd/ldapply's plan and
// apply go (read the state, read the directory, the provider's Plan;
// lock, check, the drift check, apply.Run with a bbolt state), minus the
// command line. Each case ends converged: a second plan is empty, and
// the target holds what the directory (or, for a target whose desired
// state is its configuration, the first sync) says.
//
// Icinga (providers/icinga), UDM (providers/udm) and Teamwire
// (providers/teamwire) run it from their conformance_test.go.
package providertest

import (
	"context"
	"testing"

	"github.com/ldapply/ldapply/apply"
	"github.com/ldapply/ldapply/fixtures/fault"
	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/providers/ldap"
)

// Provider is what the suite drives: the target interface of
// cmd/ldapply. A provider that also implements apply.VersionReader gets
// apply's drift check, and one with NeedsSource() false is planned
// without reading the directory, as the CLI does.
type Provider interface {
	Describe() string
	Plan(ctx context.Context, dir *plan.Directory, b plan.Bindings) (*plan.Plan, error)
	apply.Target
}

// Object is one target object in a neutral form.
type Object struct {
	Kind plan.Kind
	// ID is the object's target id, as the state binds it.
	ID string
	// Name is the username, group name or settings object name.
	Name string
	// Members are, for a group, the names of the users and groups it
	// holds directly, as the target holds them (see Harness.Flatten).
	Members []string
	// Props are the object's properties by the target's names; empty
	// values are left out.
	Props map[string]string
}

// Op is a class of requests a fault hits.
type Op string

// The request classes.
const (
	Read   Op = "read"   // reads of the target (plan, drift check)
	Create Op = "create" // writes that create an object
	Update Op = "update" // writes that change an object
	Delete Op = "delete" // writes that delete an object
	Login  Op = "login"  // logins (targets with sessions)
)

// Sim is one fresh simulator with the hooks the suite needs.
type Sim struct {
	// New returns a new provider against the simulator, as the CLI
	// builds one for every command.
	New func() Provider
	// Objects returns what the target holds now, among the objects the
	// provider looks at (UDM: under the configured containers).
	Objects func() []Object
	// Seed stores a hand-made user or group (an unmanaged one); a
	// group's Members name existing users. Needed when Harness.Directory.
	Seed func(o Object)
	// AddMember puts the object named member into group by hand.
	// Needed when Harness.Directory.
	AddMember func(group, member string)
	// Set sets one property of the object of kind named name by hand,
	// as an admin would in the target's own interface.
	Set func(kind plan.Kind, name, prop, value string)
	// Fault makes requests of class op misbehave as f says; the hook
	// fills f's Method and Path.
	Fault func(op Op, f fault.Fault)
	// Answers returns the status of every answer so far, oldest first,
	// 0 for a dropped connection; the suite checks with it that each
	// fault it asked for was served.
	Answers func() []int
}

// Prop names a property of one object and values the suite may set on
// it by hand.
type Prop struct {
	Kind         plan.Kind
	Object, Name string
	// Values are set by hand in turn; each differs from what ldapply
	// would write.
	Values []string
}

// Harness is what a target supplies to Run.
type Harness struct {
	// Start starts a fresh simulator for one case; src is the source
	// configuration (Teamwire derives settings from it).
	Start func(t *testing.T, src ldap.Config) *Sim
	// Directory is true when the desired state is the directory's users
	// and groups (Icinga, UDM); false when it is the configuration
	// (Teamwire): then the cases about users and groups do not apply.
	Directory bool
	// Flatten is true when a group holds the users of its nested groups
	// instead of the groups (Icinga).
	Flatten bool
	// UserProps and GroupProps map managed properties (Object.Props
	// names) to the LDAP attribute whose first value they hold.
	UserProps, GroupProps map[string]string
	// DerivedID, when set, returns the target id of a new object with
	// source key key; nil when ids are not derived from keys.
	DerivedID func(kind plan.Kind, key string) string
	// Managed is a property ldapply manages, on an object the first
	// sync makes (for Directory, of user bob); Unmanaged is one it
	// leaves alone, on the same object.
	Managed, Unmanaged Prop
	// ErrDrift is the error a refused apply wraps when the target
	// changed an object between plan and apply.
	ErrDrift error
	// Login is true when the target has a login (faults on Login apply).
	Login bool
	// Contend, when set, makes s answer writes the way the target
	// answers when they contend with each other; the contention case
	// runs only when it is set.
	Contend func(s *Sim)
}

// Run runs every case that applies to h, each in its own parallel
// subtest against a fresh simulator and, for Directory targets, a fresh
// slapd. Each case is also exported on its own.
func Run(t *testing.T, h Harness) {
	for _, c := range []struct {
		name      string
		fn        func(*testing.T, Harness)
		directory bool
	}{
		{"SeedCases", SeedCases, true},
		{"AdoptAfterLostState", AdoptAfterLostState, false},
		{"Unmanaged", Unmanaged, false},
		{"DriftBetweenPlanAndApply", DriftBetweenPlanAndApply, false},
		{"Transient", Transient, false},
		{"LostAnswer", LostAnswer, false},
		{"Contention", Contention, false},
	} {
		if c.directory && !h.Directory {
			continue
		}
		if c.name == "Contention" && h.Contend == nil {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t, h)
		})
	}
}

// FaultByMethod returns a Sim.Fault for a target whose request classes
// differ by HTTP method: methods names the method of each class the
// target has, and inject hands the fault, its method set, to the
// simulator. A class the target lacks fails the test.
func FaultByMethod(t testing.TB, target string, methods map[Op]string, inject func(fault.Fault)) func(Op, fault.Fault) {
	return func(op Op, f fault.Fault) {
		f.Method = methods[op]
		if f.Method == "" {
			t.Fatalf("%s has no %s requests", target, op)
		}
		inject(f)
	}
}
