/*
Package state keeps ldapply's state file: which target object each managed
source object lives under, and the bookkeeping that makes plan and apply safe.

The state is a bbolt database. Per managed object it records a
[plan.Binding]: the source primary key, the target id and the last known
name. Besides the bindings it holds a lineage (a UUID naming the file for its
whole life), a serial (bumped by every apply), a plan-signing key, and the
history of the last [MaxRuns] runs.

# Basics

Readers call [Read], which opens the file read-only under a shared lock,
copies everything into a [Snapshot] and closes it again. A missing file gives
an empty Snapshot whose Lineage is "". [Init] creates the file when it is
missing and does nothing otherwise.

Writers call [Lock], which opens the file under the exclusive lock (creating
it when missing), writes a lock record, and returns a [Locked]. Its Put and
Remove return only once the change is committed and fsynced, so that an
apply can record each success before it moves on and a killed apply leaves a
state that tells the truth. Locked is safe for concurrent use: writes issued
at the same time from several goroutines are committed together in one
transaction by a single writer goroutine (group commit), so ten workers cost
about one fsync per round rather than ten. [Locked.Unlock] waits for pending
writes, removes the lock record and closes the file.

A typical apply:

	l, err := state.Lock(ctx, path, state.NewLockInfo("apply", version), time.Minute)
	if err != nil {
		return err // a *LockError names the holder
	}
	defer l.Unlock()
	if l.Stale != nil {
		// report that a previous run died while holding the lock
	}
	snap, err := l.Snapshot() // compare lineage and serial with the plan
	...
	l.BumpSerial()
	l.AddRun(run)         // Status StatusRunning: the run is on record from its start
	for each change { ...; l.Put(binding) }
	l.AddRun(run)         // the same ID: finished in place

# Layout

The file has three buckets. "meta" holds "version" (the format version,
[FormatVersion], as a big-endian uint64), "lineage", "serial" (big-endian
uint64) and "signkey" ([SignKeySize] bytes). "bindings" maps
"<kind>\x00<primary key>" to the JSON of a plan.Binding. "runs" maps a
big-endian sequence number to the JSON of a [Run]. Files with another format
version are refused with [ErrFormatVersion]; files that are not bbolt
databases, or bbolt databases without the meta bucket but with other buckets,
with [ErrCorrupt].

# Locking

bbolt holds an flock on the database file while it is open: shared for a
read-only open, exclusive for a writable one. That file lock is the lock; it
disappears with the process that held it, whatever killed it. Since the
database cannot be read while a writer holds the exclusive lock, the lock
record ([LockInfo] as JSON) lives beside it in "<path>.lock.json", replaced
atomically (temporary file, fsync, rename). A reader that cannot get the
shared lock in time reads that record and returns a [*LockError] naming the
holder.

A lock record present while the file lock is free was left by a holder that
died. Lock takes such a lock over and reports the dead holder's record in
[Locked.Stale]; Read reports it in [Snapshot.StaleLock], and a run it left
with Status [StatusRunning] tells how far that holder got. [ForceUnlock] removes a record by id, and refuses while a
live process still holds the file lock.

Timeouts: Init, Read and Lock wait up to the given timeout for the file lock,
retrying every 50 ms, and stop early when the context ends. A timeout of 0
means a single attempt (unlike bbolt's Options.Timeout, where 0 waits
forever).

# Caveats

The file lock is an flock(2): it works between processes on one host and on
local file systems. On network file systems it may not exclude writers on
other hosts; keep the state on a local disk or use a remote backend.

Holding [Locked] keeps the exclusive lock, so every Read (and so every
ldapply plan) waits or fails with a *LockError for the whole apply.

The state file holds the plan-signing key and is created with mode 0600.
Anyone who can read it can sign plans.

Writes are durable when they return, but they are not a transaction across
calls: a crash between two Puts leaves the first one recorded. That is the
intent: the state records exactly the changes that happened.

A Snapshot is a copy; changes made through a Locked after taking it are not
reflected in it.
*/
package state
