// Package apply executes a saved plan against a target.
//
// # Basics
//
// [Check] refuses a plan that no longer fits the world: made against
// another state lineage or an older serial, with another configuration,
// for another target. [Run] then executes the plan's changes in phases:
// creates, adoptions, renames and updates of users, then of groups, then
// deletes of groups, then of users. Within a phase up to
// Options.Parallelism changes run at once.
//
// Every change that succeeds is recorded through the [Recorder] (the
// state) before Run counts it done, so a crash at any point leaves a state
// that tells the truth. A change that fails does not stop the others; Run
// returns every failure.
//
// # Caveats
//
// When ctx is cancelled, Run starts no new change but lets the ones in
// flight finish (they run under a context that is not cancelled) and
// records them, then returns context.Canceled.
package apply
