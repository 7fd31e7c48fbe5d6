/*
Package pgstate keeps ldapply's state in PostgreSQL, so that runners that
share nothing but a database (the plan and apply jobs of a CI pipeline) share
one state. It implements [state.Backend] with the semantics of the bbolt
file ([state.File]): a lineage and sign key made once, a serial that never
goes backwards, the bindings, the last [state.MaxRuns] runs, and a lock
record naming the holder. Both backends pass the conformance suite in
state/statetest.

# Basics

One database serves many states: each lives in a workspace (one per
configuration, e.g. "prod", "staging") inside a schema (default "ldapply").
[Open] only checks the configuration; every call connects on its own, and a
[Session] keeps one connection for its whole life, so there is nothing to
close. The first Init or Lock creates the schema and tables (the database
user needs CREATE on the database once; later runs need only SELECT,
INSERT, UPDATE and DELETE on the tables). Read never creates anything: a
read of a workspace, schema or table that does not exist gives an empty
Snapshot with Lineage "".

# Layout

Four tables in the schema, each keyed by workspace:

	states   (workspace, format_version, lineage, serial, sign_key, run_seq, created)
	bindings (workspace, kind, key bytea, binding json)
	runs     (workspace, seq, run json)
	locks    (workspace, lock_id, info json, created)

bindings and runs hold the same JSON as the bbolt file's buckets. Keys are
bytea because a primary key may hold any byte. A workspace whose
format_version is not [FormatVersion] is refused with
state.ErrFormatVersion.

# Locking

The lock is a session-level advisory lock, pg_try_advisory_lock on
[LockKey](schema, workspace), held by the Session's own connection from Lock
to Unlock, plus a row in locks holding the [state.LockInfo] that a refused
Lock or Read prints. Every write of the Session goes over that connection,
so a session that lost its connection (and so its lock) cannot write beside
a new holder.

A holder that dies (killed, crashed, network gone) loses its connection,
and PostgreSQL releases the advisory lock with it; its row stays. The next
Lock finds the row while the advisory lock is free, takes the lock over and
reports the dead holder's record through [Session.StaleLock]. ForceUnlock
removes such a row by id, and refuses with state.ErrHolderAlive while the
advisory lock is held, that is while the holder's connection lives.

How fast a dead holder's lock is released depends on how it died: at once
when its process ends (the kernel closes the socket); after TCP keepalive
on the server (tcp_keepalives_idle, default two hours on Linux) when its
host vanished. Set keepalives in the DSN and the server for runners that
may disappear.

Read takes the same advisory lock in shared mode, so it waits while a
writer holds it, exactly like the file backend: up to its timeout (plan
waits 10 s), then a *state.LockError naming the holder. It then copies the
state in one REPEATABLE READ, READ ONLY transaction. PostgreSQL could read
during an apply without waiting (MVCC), but the result would be half an
apply carrying the serial the apply bumped when it started, and a plan made
from it would pass apply's staleness check. A Lock (or Read) that finds
the lock held by someone without a lock record, a reader or a writer that
is just starting, keeps trying for up to 2 s whatever its timeout, so that
an apply with --lock-timeout 0 does not fail because a plan was reading.

# Durability

Put, Remove, BumpSerial and AddRun return once their transaction has
committed; the Session turns synchronous_commit on when the server has it
off. Writes issued at the same time share one transaction (group commit),
as in the file backend. If the connection breaks while a commit is in
flight, the write returns an error although it may have committed; the
next plan then shows the object as adopted or unchanged, never duplicated.

# Timeouts and network failures

Every connection is bounded by [Config.ConnectTimeout] (TCP, TLS and the
login; a connect_timeout in the DSN wins), and every exchange once
connected by [Config.Timeout]: one statement, or one transaction such as a
commit or the read of the whole state. The wait for the lock is not one
exchange but many short ones, so the lock timeout alone bounds it. While
an exchange waits, a line "Still waiting for postgres://host:port/db
(connecting, 5 s so far)." goes to [Config.Log] after half of
netfail.DefaultEvery and then every netfail.DefaultEvery. A network
failure is a *netfail.Error that says how far the exchange got (never
connected, TLS handshake failed, accepted and then silent, cut off) and
which state.postgres setting to check. Nothing is retried. No message
shows the DSN's user or password: the server is named
postgres://host:port/database.

# Moving a state

[Session.Import] replaces a workspace's state with a Snapshot, keeping the
lineage, serial and sign key, so that plans made before the move stay valid
after it (ldapply state migrate). It refuses a workspace that holds another
lineage and a serial that would go backwards.

# Caveats

A connection pooler in transaction mode (PgBouncer pool_mode=transaction)
breaks session-level advisory locks: point ldapply at the server or at a
session-mode pool.

The sign key is stored in the database: anyone who can read the states
table can sign plans. Grant access to the schema as you would to the state
file.
*/
package pgstate
