package pgstate

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/state"
)

// FormatVersion is the version of the table layout this package reads and
// writes; a workspace row with another version is refused with
// state.ErrFormatVersion.
const FormatVersion = 1

// pollInterval is how often a waiting Read or Lock retries the advisory
// lock.
const pollInterval = 100 * time.Millisecond

// Config says where a state lives: a database, a schema in it and a
// workspace (one state per workspace).
type Config struct {
	// DSN is a libpq connection string or URL. It may hold a password; it
	// never appears in errors or String.
	DSN string
	// Schema holds the tables; it is created when missing. Required.
	Schema string
	// Workspace names the state within the schema. Required.
	Workspace string
	// ConnectTimeout bounds each connection: TCP, TLS and the login
	// (state.postgres.connect_timeout). 0 means DefaultConnectTimeout. A
	// connect_timeout in the DSN (or PGCONNECT_TIMEOUT) takes precedence.
	ConnectTimeout time.Duration
	// Timeout bounds each exchange once connected: one statement, or one
	// transaction such as a commit or the read of the whole state
	// (state.postgres.timeout). The wait for the lock is not bounded by
	// it but by the caller's lock timeout; each of its attempts is. 0
	// means DefaultTimeout.
	Timeout time.Duration
	// Log receives a line at least every 10 s while an exchange waits
	// for the server; nil discards them.
	Log *slog.Logger
}

// Backend is one workspace in a PostgreSQL database. It holds no
// connection between calls: Init, Read and ForceUnlock each open and close
// one, and a Session keeps its own for its whole life, so a Backend needs
// no Close and may be copied.
type Backend struct {
	conn      *pgx.ConnConfig
	schema    string
	workspace string
	key       int64 // advisory lock key of (schema, workspace)
	where     string
	// addr names the server in network failures and waiting lines:
	// postgres://host:port/database, never user or password.
	addr      string
	timeout   time.Duration
	log       *slog.Logger
	waitEvery time.Duration // 0: netfail.DefaultEvery; tests shorten it
}

var (
	_ state.Backend = (*Backend)(nil)
	_ state.Session = (*Session)(nil)
)

// Open checks cfg and returns the Backend. It does not connect.
func Open(cfg Config) (*Backend, error) {
	switch {
	case cfg.Schema == "":
		return nil, errors.New("pgstate: the schema is empty; set state.postgres.schema")
	case cfg.Workspace == "":
		return nil, errors.New("pgstate: the workspace is empty; set state.postgres.workspace")
	case strings.ContainsRune(cfg.Schema, 0) || strings.ContainsRune(cfg.Workspace, 0):
		return nil, errors.New("pgstate: the schema and the workspace must not contain a NUL byte")
	case cfg.ConnectTimeout < 0:
		return nil, errors.New("pgstate: the connect timeout is negative; set state.postgres.connect_timeout to a positive duration such as 10s")
	case cfg.Timeout < 0:
		return nil, errors.New("pgstate: the timeout is negative; set state.postgres.timeout to a positive duration such as 1m")
	}
	cc, err := pgx.ParseConfig(cfg.DSN)
	if err != nil {
		// pgx redacts the password in its parse errors, but a malformed
		// DSN may hide it where pgx does not look: do not echo it.
		return nil, errors.New("pgstate: the DSN is not a valid PostgreSQL connection string or URL; see https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNSTRING")
	}
	if cc.RuntimeParams == nil {
		cc.RuntimeParams = map[string]string{}
	}
	if _, ok := cc.RuntimeParams["application_name"]; !ok {
		cc.RuntimeParams["application_name"] = "ldapply"
	}
	if cc.ConnectTimeout == 0 {
		cc.ConnectTimeout = cmp.Or(cfg.ConnectTimeout, DefaultConnectTimeout)
	}
	host := cc.Host
	if strings.HasPrefix(host, "/") {
		host = "unix:" + host
	}
	addr := fmt.Sprintf("postgres://%s/%s", joinHostPort(host, cc.Port), cc.Database)
	b := &Backend{
		conn:      cc,
		schema:    cfg.Schema,
		workspace: cfg.Workspace,
		key:       LockKey(cfg.Schema, cfg.Workspace),
		where:     fmt.Sprintf("%s (schema %s, workspace %s)", addr, cfg.Schema, cfg.Workspace),
		addr:      addr,
		timeout:   cmp.Or(cfg.Timeout, DefaultTimeout),
		log:       cmp.Or(cfg.Log, slog.New(slog.DiscardHandler)),
	}
	return b, nil
}

func joinHostPort(host string, port uint16) string {
	if strings.Contains(host, ":") && !strings.HasPrefix(host, "unix:") {
		host = "[" + host + "]"
	}
	return host + ":" + strconv.Itoa(int(port))
}

// LockKey is the advisory lock key of a workspace: the first 8 bytes of
// SHA-256("ldapply state\x00" + schema + "\x00" + workspace). Advisory
// locks are per database, so the key only needs to be unique there.
func LockKey(schema, workspace string) int64 {
	sum := sha256.Sum256([]byte("ldapply state\x00" + schema + "\x00" + workspace))
	return int64(binary.BigEndian.Uint64(sum[:8]))
}

// ddlKey is the advisory lock key that serialises creating the tables of
// a schema (CREATE ... IF NOT EXISTS races with itself).
func ddlKey(schema string) int64 {
	sum := sha256.Sum256([]byte("ldapply ddl\x00" + schema))
	return int64(binary.BigEndian.Uint64(sum[:8]))
}

// String names the location without the password.
func (b *Backend) String() string { return b.where }

// Workspace returns the workspace name.
func (b *Backend) Workspace() string { return b.workspace }

// table returns the quoted, schema-qualified name of table.
func (b *Backend) table(name string) string {
	return pgx.Identifier{b.schema, name}.Sanitize()
}

// closeTimeout bounds the goodbye to the server when a connection is
// closed; the server cleans up after a client that leaves without one.
const closeTimeout = 5 * time.Second

func closeConn(c *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	_ = c.Close(ctx)
}

// ensureSchema creates the schema and tables when missing. Concurrent
// callers are serialised by a transaction-level advisory lock.
func (b *Backend) ensureSchema(ctx context.Context, c *pgx.Conn) error {
	var exists bool
	if err := c.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", b.table("locks")).Scan(&exists); err != nil {
		return b.dbError("check the tables of", err)
	}
	if exists {
		return nil
	}
	err := pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", ddlKey(b.schema)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, strings.NewReplacer(
			"$schema", pgx.Identifier{b.schema}.Sanitize(),
			"$states", b.table("states"),
			"$bindings", b.table("bindings"),
			"$runs", b.table("runs"),
			"$locks", b.table("locks"),
		).Replace(ddl))
		return err
	})
	if b.netFailure(err) != nil {
		return b.dbError("create the tables of", err)
	}
	if err != nil {
		return fmt.Errorf("pgstate: cannot create the schema %s and its tables in %s; the database user needs CREATE on the database (or create them once as an owner): %w", b.schema, b.where, err)
	}
	return nil
}

// ddl creates the tables. Keys are bytea because a primary key may hold
// any byte, NUL included, which text cannot; bindings and runs are json
// (not jsonb, which refuses \u0000) holding exactly what the bbolt file
// holds.
const ddl = `
CREATE SCHEMA IF NOT EXISTS $schema;
CREATE TABLE IF NOT EXISTS $states (
	workspace      text PRIMARY KEY,
	format_version integer NOT NULL,
	lineage        text NOT NULL,
	serial         bigint NOT NULL CHECK (serial >= 0),
	sign_key       bytea NOT NULL,
	run_seq        bigint NOT NULL DEFAULT 0,
	created        timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS $bindings (
	workspace text NOT NULL REFERENCES $states ON DELETE CASCADE,
	kind      text NOT NULL,
	key       bytea NOT NULL,
	binding   json NOT NULL,
	PRIMARY KEY (workspace, kind, key)
);
CREATE TABLE IF NOT EXISTS $runs (
	workspace text NOT NULL REFERENCES $states ON DELETE CASCADE,
	seq       bigint NOT NULL,
	run       json NOT NULL,
	PRIMARY KEY (workspace, seq)
);
CREATE TABLE IF NOT EXISTS $locks (
	workspace text PRIMARY KEY,
	lock_id   text NOT NULL,
	info      json NOT NULL,
	created   timestamptz NOT NULL DEFAULT now()
);
`

// ensureState creates the workspace's row with a new lineage and sign key
// when it is missing, and checks its format version.
func (b *Backend) ensureState(ctx context.Context, q querier) error {
	key := make([]byte, state.SignKeySize)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("pgstate: cannot make a sign key for %s: %w", b.where, err)
	}
	_, err := q.Exec(ctx, "INSERT INTO "+b.table("states")+" (workspace, format_version, lineage, serial, sign_key) VALUES ($1, $2, $3, 0, $4) ON CONFLICT (workspace) DO NOTHING",
		b.workspace, FormatVersion, uuid.NewString(), key)
	if err != nil {
		return b.dbError("initialise", err)
	}
	var v int
	if err := q.QueryRow(ctx, "SELECT format_version FROM "+b.table("states")+" WHERE workspace = $1", b.workspace).Scan(&v); err != nil {
		return b.dbError("read", err)
	}
	return b.checkVersion(v)
}

func (b *Backend) checkVersion(v int) error {
	if v != FormatVersion {
		return errorf(state.ErrFormatVersion, nil, "%s has state format version %d but this ldapply reads only version %d; use the ldapply release that wrote it", b.where, v, FormatVersion)
	}
	return nil
}

type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Init creates the schema, the tables and the workspace's state when
// missing; it is a no-op otherwise. It takes no lock: creating the row is
// one INSERT ... ON CONFLICT DO NOTHING, so concurrent Inits agree on one
// lineage. timeout is unused.
func (b *Backend) Init(ctx context.Context, timeout time.Duration) error {
	c, err := b.connect(ctx)
	if err != nil {
		return err
	}
	defer closeConn(c)
	return b.exchange(ctx, "creating the state", func(ctx context.Context) error {
		if err := b.ensureSchema(ctx, c); err != nil {
			return err
		}
		return b.ensureState(ctx, c)
	})
}

// Read returns a consistent copy of the workspace's state, or an empty
// Snapshot (Lineage "") when the workspace, the tables or the schema do
// not exist; it creates nothing.
//
// Read waits, like the file backend, while a writer holds the lock: it
// takes the advisory lock in shared mode, retrying every 100 ms up to
// timeout, then copies everything in one REPEATABLE READ, READ ONLY
// transaction and releases the lock. When a writer holds the lock longer
// than timeout it returns a *state.LockError naming the holder. Reading
// during an apply would be safe for PostgreSQL (MVCC), but the result
// would be half an apply with the serial the apply already bumped, so a
// plan made from it would later pass apply's staleness check.
func (b *Backend) Read(ctx context.Context, timeout time.Duration) (*state.Snapshot, error) {
	c, err := b.connect(ctx)
	if err != nil {
		return nil, err
	}
	defer closeConn(c)
	if err := b.waitLock(ctx, c, "pg_try_advisory_lock_shared", timeout); err != nil {
		return nil, err
	}
	// Closing the connection releases the shared lock too; unlock
	// explicitly for poolers that keep the session.
	defer b.exchange(context.WithoutCancel(ctx), "unlocking", func(ctx context.Context) error {
		_, err := c.Exec(ctx, "SELECT pg_advisory_unlock_shared($1)", b.key)
		return err
	})
	var s *state.Snapshot
	err = b.exchange(ctx, "reading the state", func(ctx context.Context) error {
		return pgx.BeginTxFunc(ctx, c, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
			return b.readAll(ctx, tx, &s)
		})
	})
	if err != nil {
		return nil, b.wrap("read", err)
	}
	return s, nil
}

// readAll copies the state out of tx into *s, or an empty Snapshot when
// the tables do not exist.
func (b *Backend) readAll(ctx context.Context, tx pgx.Tx, s **state.Snapshot) error {
	var exists bool
	if err := tx.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", b.table("locks")).Scan(&exists); err != nil {
		return b.dbError("read", err)
	}
	if !exists {
		*s = emptySnapshot()
		return nil
	}
	snap, err := b.readSnapshot(ctx, tx)
	if err != nil {
		return err
	}
	// Under the shared advisory lock no writer's connection is alive: a
	// lock row is a dead holder's.
	snap.StaleLock, err = b.lockRow(ctx, tx)
	*s = snap
	return err
}

// unrecordedGrace is how long waitLock keeps trying, whatever its
// timeout, while the lock is held by someone without a lock record: a
// reader (Read holds the lock in shared mode for milliseconds) or a writer
// between taking the lock and writing its record. Without it an apply
// with --lock-timeout 0 would fail whenever a plan or status happened to
// be reading.
const unrecordedGrace = 2 * time.Second

// waitLock takes the advisory lock with fn (pg_try_advisory_lock or its
// _shared variant), retrying every pollInterval until timeout (0: one
// attempt, or up to unrecordedGrace while the holder has no lock record)
// or until ctx ends. A timeout gives a *state.LockError with the lock row.
func (b *Backend) waitLock(ctx context.Context, c *pgx.Conn, fn string, timeout time.Duration) error {
	start := time.Now()
	deadline := start.Add(timeout)
	for {
		// Each attempt is one exchange bounded by the timeout; the wait
		// as a whole is bounded by the lock timeout alone.
		var ok bool
		err := b.exchange(ctx, "taking the lock", func(ctx context.Context) error {
			return c.QueryRow(ctx, "SELECT "+fn+"($1)", b.key).Scan(&ok)
		})
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("pgstate: gave up waiting for the lock on %s: %w", b.where, ctx.Err())
			}
			return b.dbError("lock", err)
		}
		if ok {
			return nil
		}
		if !time.Now().Before(deadline) {
			var info *state.LockInfo
			err := b.exchange(ctx, "reading the lock record", func(ctx context.Context) (err error) {
				info, err = b.lockRow(ctx, c)
				return err
			})
			if err != nil {
				return err
			}
			if info != nil || time.Since(start) >= unrecordedGrace {
				return &state.LockError{Info: info, Path: b.where}
			}
			deadline = start.Add(unrecordedGrace)
		}
		t := time.NewTimer(min(pollInterval, time.Until(deadline)))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("pgstate: gave up waiting for the lock on %s: %w", b.where, ctx.Err())
		case <-t.C:
		}
	}
}

// lockRow returns the workspace's lock record, or nil.
func (b *Backend) lockRow(ctx context.Context, q querier) (*state.LockInfo, error) {
	var exists bool
	if err := q.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", b.table("locks")).Scan(&exists); err != nil {
		return nil, b.dbError("read the lock record of", err)
	}
	if !exists {
		return nil, nil
	}
	var raw []byte
	err := q.QueryRow(ctx, "SELECT info::text FROM "+b.table("locks")+" WHERE workspace = $1", b.workspace).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, b.dbError("read the lock record of", err)
	}
	var info state.LockInfo
	if err := json.Unmarshal(raw, &info); err != nil {
		return &state.LockInfo{Info: fmt.Sprintf("the lock record of %s is unreadable: %v", b.where, err)}, nil
	}
	return &info, nil
}

func emptySnapshot() *state.Snapshot { return &state.Snapshot{Bindings: plan.Bindings{}} }

// readSnapshot copies the state out of q; an empty Snapshot when the
// workspace has no row.
func (b *Backend) readSnapshot(ctx context.Context, q querier) (*state.Snapshot, error) {
	s := emptySnapshot()
	var v int
	var serial int64
	err := q.QueryRow(ctx, "SELECT format_version, lineage, serial, sign_key FROM "+b.table("states")+" WHERE workspace = $1", b.workspace).
		Scan(&v, &s.Lineage, &serial, &s.SignKey)
	if errors.Is(err, pgx.ErrNoRows) {
		return s, nil
	}
	if err != nil {
		return nil, b.dbError("read", err)
	}
	if err := b.checkVersion(v); err != nil {
		return nil, err
	}
	if len(s.SignKey) != state.SignKeySize || s.Lineage == "" {
		return nil, errorf(state.ErrCorrupt, nil, "%s lacks part of its metadata (lineage or sign key); restore it from a backup", b.where)
	}
	s.Serial = uint64(serial)
	rows, err := q.Query(ctx, "SELECT binding::text FROM "+b.table("bindings")+" WHERE workspace = $1", b.workspace)
	if err != nil {
		return nil, b.dbError("read", err)
	}
	var raw []byte
	var dec state.BindingDecoder
	_, err = pgx.ForEachRow(rows, []any{&raw}, func() error {
		bd, err := dec.Decode(raw)
		if err != nil {
			return errorf(state.ErrCorrupt, err, "%s holds an unreadable binding (%v); restore it from a backup", b.where, err)
		}
		s.Bindings.Add(bd)
		return nil
	})
	if err != nil {
		return nil, b.wrap("read", err)
	}
	rows, err = q.Query(ctx, "SELECT run::text FROM "+b.table("runs")+" WHERE workspace = $1 ORDER BY seq", b.workspace)
	if err != nil {
		return nil, b.dbError("read", err)
	}
	_, err = pgx.ForEachRow(rows, []any{&raw}, func() error {
		var r state.Run
		if err := json.Unmarshal(raw, &r); err != nil {
			return errorf(state.ErrCorrupt, err, "%s holds an unreadable run record (%v); restore it from a backup", b.where, err)
		}
		s.Runs = append(s.Runs, r)
		return nil
	})
	if err != nil {
		return nil, b.wrap("read", err)
	}
	return s, nil
}

// ForceUnlock removes the workspace's lock record when its ID is id and
// returns it. It refuses with state.ErrHolderAlive while a live session
// holds the advisory lock (the holder's connection is still open), with
// state.ErrLockIDMismatch when the record has another id, and with
// state.ErrNotLocked when there is no record.
func (b *Backend) ForceUnlock(ctx context.Context, id string) (*state.LockInfo, error) {
	c, err := b.connect(ctx)
	if err != nil {
		return nil, err
	}
	defer closeConn(c)
	var info *state.LockInfo
	err = b.exchange(ctx, "removing the lock record", func(ctx context.Context) (err error) {
		info, err = b.forceUnlock(ctx, c, id)
		return err
	})
	return info, err
}

func (b *Backend) forceUnlock(ctx context.Context, c *pgx.Conn, id string) (*state.LockInfo, error) {
	var got bool
	if err := c.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", b.key).Scan(&got); err != nil {
		return nil, b.dbError("lock", err)
	}
	info, err := b.lockRow(ctx, c)
	if err != nil {
		return nil, err
	}
	if !got {
		if info == nil {
			return nil, errorf(state.ErrHolderAlive, nil, "%s is held by a running session; stop that process instead of forcing the unlock", b.where)
		}
		return nil, errorf(state.ErrHolderAlive, nil, "%s is held by a running session (%s, id %s, who %s, pid %d); stop that process instead of forcing the unlock",
			b.where, info.Operation, info.ID, info.Who, info.PID)
	}
	defer c.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", b.key)
	if info == nil {
		return nil, errorf(state.ErrNotLocked, nil, "%s is not locked (it has no lock record); there is nothing to unlock", b.where)
	}
	if info.ID != id {
		return nil, errorf(state.ErrLockIDMismatch, nil, "%s is locked with id %s, not %s; check the id and try again", b.where, info.ID, id)
	}
	if _, err := c.Exec(ctx, "DELETE FROM "+b.table("locks")+" WHERE workspace = $1", b.workspace); err != nil {
		return nil, b.dbError("remove the lock record of", err)
	}
	return info, nil
}

// dbError wraps a database error as one sentence; a network failure
// says how the exchange failed and which setting to check.
func (b *Backend) dbError(doing string, err error) error {
	if ne := b.netFailure(err); ne != nil {
		return fmt.Errorf("pgstate: cannot %s the state (schema %s, workspace %s): %w", doing, b.schema, b.workspace, ne)
	}
	return fmt.Errorf("pgstate: cannot %s %s: %w", doing, b.where, err)
}

// wrap leaves the package's own errors alone and wraps the others.
func (b *Backend) wrap(doing string, err error) error {
	var se *stateError
	var le *state.LockError
	if errors.As(err, &se) || errors.As(err, &le) || strings.HasPrefix(err.Error(), "pgstate: ") {
		return err
	}
	return b.dbError(doing, err)
}
