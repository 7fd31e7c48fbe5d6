package pgstate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/state"
)

// Session is a workspace locked for writing. It owns one connection for
// its whole life: that connection holds the session-level advisory lock,
// and every read and write of the Session goes over it, so a Session whose
// connection broke (and so lost the lock) cannot write any more. Its
// methods are safe for concurrent use. Writes issued concurrently share one
// transaction (group commit); each returns once its transaction committed.
type Session struct {
	b     *Backend
	info  state.LockInfo
	stale *state.LockInfo

	connMu sync.Mutex // serialises use of conn
	conn   *pgx.Conn

	mu     sync.RWMutex // guards closed; held (read) while a write waits
	closed bool
	gc     *state.GroupCommit[func(context.Context, pgx.Tx) error]

	unlockOnce sync.Once
	unlockErr  error

	commits atomic.Int64 // transactions committed, for tests
}

// Lock opens the workspace for writing: it connects, creates the schema,
// tables and state row when missing, takes the session-level advisory
// lock (retrying every 100 ms up to timeout; 0: one attempt) and writes
// info as the lock record. While another session holds the lock it
// returns a *state.LockError with that session's record.
//
// A lock record found while the advisory lock was free was left by a
// holder whose connection ended without Unlock (a crash, a kill, a lost
// network): Lock takes it over and returns it from Session.StaleLock.
//
// The caller must call Unlock, also on error paths.
func (b *Backend) Lock(ctx context.Context, info state.LockInfo, timeout time.Duration) (state.Session, error) {
	s, err := b.LockSession(ctx, info, timeout)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// LockSession is Lock returning the concrete *Session.
func (b *Backend) LockSession(ctx context.Context, info state.LockInfo, timeout time.Duration) (_ *Session, err error) {
	if info.ID == "" {
		return nil, fmt.Errorf("pgstate: cannot lock %s with an empty lock id; build the LockInfo with state.NewLockInfo", b.where)
	}
	c, err := b.connect(ctx)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			closeConn(c)
		}
	}()
	err = b.exchange(ctx, "creating the tables", func(ctx context.Context) error { return b.ensureSchema(ctx, c) })
	if err != nil {
		return nil, err
	}
	if err := b.waitLock(ctx, c, "pg_try_advisory_lock", timeout); err != nil {
		return nil, err
	}
	var stale *state.LockInfo
	err = b.exchange(ctx, "writing the lock record", func(ctx context.Context) (err error) {
		stale, err = b.writeLockRecord(ctx, c, info)
		return err
	})
	if err != nil {
		return nil, err
	}
	s := &Session{
		b:     b,
		info:  info,
		stale: stale,
		conn:  c,
	}
	s.gc = state.NewGroupCommit(func(batch []func(context.Context, pgx.Tx) error) error {
		return s.tx("committing", func(ctx context.Context, tx pgx.Tx) error {
			for _, fn := range batch {
				if err := fn(ctx, tx); err != nil {
					return err
				}
			}
			return nil
		})
	})
	return s, nil
}

// writeLockRecord turns on synchronous commit when the server has it off
// and writes info as the lock record, under the advisory lock. It returns
// the record it replaced: a dead holder's.
func (b *Backend) writeLockRecord(ctx context.Context, c *pgx.Conn, info state.LockInfo) (*state.LockInfo, error) {
	// Writes are durable when they return only with synchronous commit.
	var sc string
	if err := c.QueryRow(ctx, "SELECT current_setting('synchronous_commit')").Scan(&sc); err != nil {
		return nil, b.dbError("lock", err)
	}
	if sc == "off" {
		if _, err := c.Exec(ctx, "SET synchronous_commit TO on"); err != nil {
			return nil, b.dbError("lock", err)
		}
	}
	raw, err := json.Marshal(info)
	if err != nil {
		return nil, fmt.Errorf("pgstate: encode the lock record for %s: %w", b.where, err)
	}
	var stale *state.LockInfo
	err = pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
		if err := b.ensureState(ctx, tx); err != nil {
			return err
		}
		var err error
		if stale, err = b.lockRow(ctx, tx); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, "INSERT INTO "+b.table("locks")+" (workspace, lock_id, info, created) VALUES ($1, $2, $3, $4) "+
			"ON CONFLICT (workspace) DO UPDATE SET lock_id = EXCLUDED.lock_id, info = EXCLUDED.info, created = EXCLUDED.created",
			b.workspace, info.ID, string(raw), info.Created)
		return err
	})
	if err != nil {
		return nil, b.wrap("lock", err)
	}
	return stale, nil
}

// StaleLock returns the record of a dead holder that Lock took over, or
// nil.
func (s *Session) StaleLock() *state.LockInfo { return s.stale }

// Info returns the lock record this Session holds.
func (s *Session) Info() state.LockInfo { return s.info }

// tx runs fn in one transaction on the session's connection, bounded
// by the backend's timeout so that a hung server does not hang apply;
// doing names it in the lines logged while it waits.
func (s *Session) tx(doing string, fn func(context.Context, pgx.Tx) error) error {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	err := s.b.exchange(context.Background(), doing, func(ctx context.Context) error {
		return pgx.BeginFunc(ctx, s.conn, func(tx pgx.Tx) error { return fn(ctx, tx) })
	})
	if err == nil {
		s.commits.Add(1)
	}
	return err
}

// submit queues fn and waits until it is committed or has failed.
func (s *Session) submit(fn func(context.Context, pgx.Tx) error) error {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return s.closedError()
	}
	err := s.gc.Do(fn)
	s.mu.RUnlock()
	var se *stateError
	if err != nil && !errors.As(err, &se) {
		if ne := s.b.netFailure(err); ne != nil {
			err = ne
		}
		return fmt.Errorf("pgstate: writing to the state (schema %s, workspace %s) failed and the change was not recorded (if the connection broke during the commit it may have been): %w", s.b.schema, s.b.workspace, err)
	}
	return err
}

func (s *Session) closedError() error {
	return errorf(state.ErrClosed, nil, "%s was already unlocked; lock it again before using it", s.b.where)
}

// Snapshot returns a copy of the state as committed so far.
func (s *Session) Snapshot() (*state.Snapshot, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, s.closedError()
	}
	var snap *state.Snapshot
	err := s.tx("reading the state", func(ctx context.Context, tx pgx.Tx) error {
		var err error
		snap, err = s.b.readSnapshot(ctx, tx)
		return err
	})
	if err != nil {
		return nil, s.b.wrap("read", err)
	}
	return snap, nil
}

// BumpSerial increments the serial by one, commits it and returns the new
// value.
func (s *Session) BumpSerial() (uint64, error) {
	var serial int64
	err := s.submit(func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, "UPDATE "+s.b.table("states")+" SET serial = serial + 1 WHERE workspace = $1 RETURNING serial", s.b.workspace).Scan(&serial)
	})
	if err != nil {
		return 0, err
	}
	return uint64(serial), nil
}

// Put records b, replacing any binding with the same Kind and Key, and
// returns once that is committed. A binding with an empty Kind, Key or ID
// (or a Kind with a NUL byte) is refused with state.ErrInvalidBinding.
func (s *Session) Put(b plan.Binding) error {
	if err := validKey(s.b.where, b.Kind, b.Key); err != nil {
		return err
	}
	if b.ID == "" {
		return errorf(state.ErrInvalidBinding, nil, "refusing to record %s %q in %s without a target id; this is a bug in the caller", b.Kind, b.Key, s.b.where)
	}
	v, err := json.Marshal(b)
	if err != nil {
		return fmt.Errorf("pgstate: encode binding %s %q: %w", b.Kind, b.Key, err)
	}
	return s.submit(func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO "+s.b.table("bindings")+" (workspace, kind, key, binding) VALUES ($1, $2, $3, $4) "+
			"ON CONFLICT (workspace, kind, key) DO UPDATE SET binding = EXCLUDED.binding",
			s.b.workspace, string(b.Kind), []byte(b.Key), string(v))
		return err
	})
}

// Remove deletes the binding for kind and key and returns once that is
// committed. Removing a binding that does not exist is not an error.
func (s *Session) Remove(kind plan.Kind, key string) error {
	if err := validKey(s.b.where, kind, key); err != nil {
		return err
	}
	return s.submit(func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "DELETE FROM "+s.b.table("bindings")+" WHERE workspace = $1 AND kind = $2 AND key = $3",
			s.b.workspace, string(kind), []byte(key))
		return err
	})
}

func validKey(where string, kind plan.Kind, key string) error {
	switch {
	case kind == "":
		return errorf(state.ErrInvalidBinding, nil, "refusing to record a binding with key %q in %s without a kind; this is a bug in the caller", key, where)
	case containsNUL(string(kind)):
		return errorf(state.ErrInvalidBinding, nil, "refusing to record a binding of kind %q in %s because the kind contains a NUL byte; this is a bug in the caller", kind, where)
	case key == "":
		return errorf(state.ErrInvalidBinding, nil, "refusing to record a %s binding in %s without a primary key; this is a bug in the caller", kind, where)
	}
	return nil
}

func containsNUL(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return true
		}
	}
	return false
}

// AddRun records r in the run history: it replaces the entry with r's ID
// when there is one (a run recorded when it started is updated and
// finished that way), else it appends r and drops the oldest entries
// beyond state.MaxRuns. An empty r.ID is filled with a new UUID.
func (s *Session) AddRun(r state.Run) error {
	if r.ID == "" {
		r.ID = uuid.NewString()
	}
	v, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("pgstate: encode run %s: %w", r.ID, err)
	}
	return s.submit(func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "UPDATE "+s.b.table("runs")+" SET run = $3 WHERE workspace = $1 AND run->>'id' = $2", s.b.workspace, r.ID, string(v))
		if err != nil || tag.RowsAffected() > 0 {
			return err
		}
		return s.b.addRun(ctx, tx, v)
	})
}

func (b *Backend) addRun(ctx context.Context, tx pgx.Tx, run []byte) error {
	var seq int64
	if err := tx.QueryRow(ctx, "UPDATE "+b.table("states")+" SET run_seq = run_seq + 1 WHERE workspace = $1 RETURNING run_seq", b.workspace).Scan(&seq); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, "INSERT INTO "+b.table("runs")+" (workspace, seq, run) VALUES ($1, $2, $3)", b.workspace, seq, string(run)); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, "DELETE FROM "+b.table("runs")+" WHERE workspace = $1 AND seq <= $2", b.workspace, seq-state.MaxRuns)
	return err
}

// Import replaces the whole state of the workspace with snap: lineage,
// serial, sign key, bindings and runs, in one transaction. It is how a
// state moves between backends (ldapply state migrate, state push)
// without losing the lineage, so that plans made before the move stay
// valid. It refuses a snapshot without a lineage or sign key, a workspace
// that already has another lineage and holds anything, and a serial that
// would go backwards.
func (s *Session) Import(snap *state.Snapshot) error {
	if snap.Lineage == "" || len(snap.SignKey) != state.SignKeySize {
		return fmt.Errorf("pgstate: refusing to import a state without a lineage or a %d-byte sign key into %s", state.SignKeySize, s.b.where)
	}
	var runs [][]byte
	for _, r := range snap.Runs[max(0, len(snap.Runs)-state.MaxRuns):] {
		v, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("pgstate: encode run %s: %w", r.ID, err)
		}
		runs = append(runs, v)
	}
	var bindings [][]any
	for _, m := range snap.Bindings {
		for _, b := range m {
			if err := validKey(s.b.where, b.Kind, b.Key); err != nil {
				return err
			}
			v, err := json.Marshal(b)
			if err != nil {
				return fmt.Errorf("pgstate: encode binding %s %q: %w", b.Kind, b.Key, err)
			}
			bindings = append(bindings, []any{s.b.workspace, string(b.Kind), []byte(b.Key), string(v)})
		}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return s.closedError()
	}
	err := s.tx("importing the state", func(ctx context.Context, tx pgx.Tx) error {
		cur, err := s.b.readSnapshot(ctx, tx)
		if err != nil {
			return err
		}
		if cur.Lineage != snap.Lineage && (cur.Serial > 0 || len(cur.Runs) > 0 || countBindings(cur.Bindings) > 0) {
			return fmt.Errorf("pgstate: refusing to import state lineage %s into %s, which already holds another state (lineage %s, serial %d); use an empty workspace", snap.Lineage, s.b.where, cur.Lineage, cur.Serial)
		}
		if cur.Lineage == snap.Lineage && cur.Serial > snap.Serial {
			return fmt.Errorf("pgstate: refusing to import serial %d into %s, which already has serial %d of the same lineage %s: the serial would go backwards", snap.Serial, s.b.where, cur.Serial, cur.Lineage)
		}
		if _, err := tx.Exec(ctx, "UPDATE "+s.b.table("states")+" SET lineage = $2, serial = $3, sign_key = $4, run_seq = 0 WHERE workspace = $1",
			s.b.workspace, snap.Lineage, int64(snap.Serial), snap.SignKey); err != nil {
			return err
		}
		for _, t := range []string{"bindings", "runs"} {
			if _, err := tx.Exec(ctx, "DELETE FROM "+s.b.table(t)+" WHERE workspace = $1", s.b.workspace); err != nil {
				return err
			}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{s.b.schema, "bindings"}, []string{"workspace", "kind", "key", "binding"}, pgx.CopyFromRows(bindings)); err != nil {
			return err
		}
		for _, r := range runs {
			if err := s.b.addRun(ctx, tx, r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return s.b.wrap("import into", err)
	}
	return nil
}

func countBindings(bs plan.Bindings) int {
	n := 0
	for _, m := range bs {
		n += len(m)
	}
	return n
}

// Unlock waits for pending writes, removes the lock record, releases the
// advisory lock and closes the connection. It is idempotent: later calls
// return the first call's result. When the connection is gone, the lock is
// already released and the record stays behind; the next Lock reports it
// as stale.
func (s *Session) Unlock() error {
	s.unlockOnce.Do(func() {
		s.mu.Lock() // waits for writes in flight
		s.closed = true
		s.mu.Unlock()
		s.gc.Close()
		s.connMu.Lock()
		defer s.connMu.Unlock()
		err := s.b.exchange(context.Background(), "unlocking", s.unlock)
		ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		if cerr := s.conn.Close(ctx); cerr != nil && err == nil {
			err = fmt.Errorf("pgstate: closing the connection to %s failed; its last writes were committed: %w", s.b.where, cerr)
		}
		s.unlockErr = err
	})
	return s.unlockErr
}

// unlock removes the lock record, then releases the advisory lock: in
// this order, so that no one sees the record without the lock and takes
// it for a dead holder's.
func (s *Session) unlock(ctx context.Context) error {
	_, err := s.conn.Exec(ctx, "DELETE FROM "+s.b.table("locks")+" WHERE workspace = $1 AND lock_id = $2", s.b.workspace, s.info.ID)
	if err != nil {
		if ne := s.b.netFailure(err); ne != nil {
			err = ne
		}
		return fmt.Errorf("pgstate: cannot remove the lock record of %s (the next run will report it as stale): %w", s.b.where, err)
	}
	if _, err := s.conn.Exec(ctx, "SELECT pg_advisory_unlock($1)", s.b.key); err != nil {
		return s.b.dbError("unlock", err)
	}
	return nil
}

// BackendPID returns the server process id of the session's connection,
// so that tests can end it with pg_terminate_backend like a crash.
func (s *Session) BackendPID() uint32 { return s.conn.PgConn().PID() }
