// Package apply executes a saved plan against a target.
//
// # Basics
//
// [Check] refuses a plan that no longer fits the world: made against
// another state lineage or an older serial, with another configuration,
// for another target. [Run] then executes the plan's changes in phases:
// creates, adoptions, renames and updates of users, then of groups, then
// deletes of groups, then of users.
//
// A target builds each change's request itself, from the change (the
// managed values exactly as After has them) and from what it reads from
// the target at apply time; the plan holds no request body. A target that
// needs to see the whole plan for that (UDM names a group's members by
// the DNs this apply's creates and renames give them) implements
// [Preparer], which Run calls once before the first change.
//
// Every change that succeeds is recorded through the [Recorder] (the
// state) before Run counts it done, so a crash at any point leaves a state
// that tells the truth. A change that fails does not stop the others; Run
// returns every failure.
//
// # Concurrency
//
// Within a phase, Run sends changes as a window allows, which it adapts
// to the target as TCP does: additive increase, multiplicative decrease.
// The window starts at the target's [ParallelismAdvisor] advice, else at
// Options.Parallelism, which it never exceeds (--parallelism is the
// ceiling). After each round of changes (as many as the window holds)
// it compares the contention signals of the round with the changes that
// succeeded in it: the target's [ContentionReporter] counter counts
// writes a serializable database refused because they overlapped, 429s
// and 503s. Up to one signal for every two changes, it grows by one;
// above that, it halves, down to one change. A serialization failure
// costs one quick retry of a write that is safe to repeat, so some of
// them are cheaper than sending one change at a time; many of them
// could exhaust a request's attempts. Changes started before the last
// halving neither halve it again nor count towards the next round, so
// one burst of conflicts halves it once; signals above what a whole
// round may bring halve it at once, before the round ends. Each phase
// starts again no higher than the advice: each writes another kind of
// object, which the target may take worse at once than the last. A
// target that reports no contention keeps the window at the ceiling: a
// fixed bound, as before the window existed. Window changes are logged
// at debug level.
//
// A change the target refused only because other writes were in flight,
// after its own retries (an error implementing [Contended]), is sent once
// more at the end of its phase, alone, with nothing to contend with; only
// if that fails too does it count as failed.
//
// # Failures and their dependents
//
// When a create fails, the changes of the later phases that refer to the
// object (a group to a member that was not created) still run: Run asks
// the target's [Pruner] for the change without those references and sends
// that. Such a change is counted done, recorded as usual and listed in
// Result.Degraded with the names of what it left out; the next plan finds
// the group short of the member and adds it once the member exists.
// Failures of the same phase are not left out (the changes run side by
// side), nor are failed updates (their objects exist). A target without a
// Pruner gets its changes as planned.
//
// # Logging and auditing
//
// Run logs every failure and every warning, and a summary when each phase
// ends (applied, failed, not started, how long it took). It names each
// change applied in an info line up to Options.ChangeLines; beyond that
// the summaries count them, and one line at the end says how many it left
// out, followed by Options.OmittedHint, so a log stays bounded however
// large the plan. The full record is the [Observer]'s: it hears of every
// change exactly once (applied, failed or skipped) before Run counts it,
// as the state does for successes. ldapply's --audit-log is one.
//
// # Caveats
//
// When ctx is cancelled, Run starts no new change but lets the ones in
// flight finish (they run under a context that is not cancelled) and
// records them, then returns context.Canceled.
package apply
