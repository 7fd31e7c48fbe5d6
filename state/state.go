package state

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/ldapply/ldapply/internal/arena"
	"github.com/ldapply/ldapply/plan"
)

// FormatVersion is the version of the state file layout this package reads
// and writes. Files with any other version are rejected.
const FormatVersion = 1

// MaxRuns is how many run records the state keeps; AddRun drops the oldest
// beyond it.
const MaxRuns = 100

// SignKeySize is the length of the plan-signing key in bytes.
const SignKeySize = 32

var (
	bucketMeta     = []byte("meta")
	bucketBindings = []byte("bindings")
	bucketRuns     = []byte("runs")

	keyVersion = []byte("version")
	keyLineage = []byte("lineage")
	keySerial  = []byte("serial")
	keySignKey = []byte("signkey")
)

// fileMode is the state file's permission: it holds the plan-signing key.
const fileMode = 0o600

// pollInterval is how often a waiting Init, Read or Lock retries the file
// lock.
const pollInterval = 50 * time.Millisecond

// Snapshot is a copy of the whole state, detached from the file.
type Snapshot struct {
	// Lineage identifies the state file for its whole life (a UUID made
	// once by Init). It is "" when the state does not exist yet.
	Lineage string
	// Serial counts the writes callers announced with BumpSerial. It never
	// goes backwards.
	Serial uint64
	// SignKey is SignKeySize random bytes made together with the lineage,
	// used to HMAC plan files. Nil when the state does not exist yet.
	SignKey []byte
	// Bindings holds every managed object. Never nil.
	Bindings plan.Bindings
	// Runs holds the run history, oldest first, at most MaxRuns entries.
	// A run whose Status is StatusRunning in a Snapshot from Read was
	// left by a holder that died: Read waits for a live holder.
	Runs []Run
	// StaleLock is the lock record of a holder that died without
	// unlocking, as Read found it (the next Lock takes it over); nil
	// when there is none. Session.Snapshot leaves it nil.
	StaleLock *LockInfo
}

// Run is one entry of the run history. A run is recorded when it starts,
// with Status StatusRunning, and recorded again under the same ID as it
// goes and when it ends (Session.AddRun replaces the entry).
type Run struct {
	ID        string    `json:"id"`
	Operation string    `json:"operation"`
	Started   time.Time `json:"started"`
	// Finished is zero while the run is running.
	Finished time.Time `json:"finished"`
	// Status is "running", "success", "failure" or "interrupted".
	Status string `json:"status"`
	// Total is how many changes the run set out to make, Done how many
	// had finished (applied or failed) when the entry was last written.
	Total int `json:"total,omitempty"`
	Done  int `json:"done,omitempty"`
	// Holder is the lock record of the process that ran it, so that a
	// run left behind by a holder that died can name it.
	Holder *LockInfo `json:"holder,omitempty"`
	// Counts counts the changes by action, e.g. "create": 3.
	Counts  map[string]int `json:"counts,omitempty"`
	Message string         `json:"message,omitempty"`
	Errors  []string       `json:"errors,omitempty"`
}

// Run statuses.
const (
	// StatusRunning marks a run that has started and not ended. Found
	// by Read (which waits for a live holder), it means the holder died:
	// killed, crashed or its host gone.
	StatusRunning     = "running"
	StatusSuccess     = "success"
	StatusFailure     = "failure"
	StatusInterrupted = "interrupted"
)

// Init creates the state file at path with a new lineage and sign key when
// it does not exist, holding the exclusive lock only while it does so. It is
// a no-op when the state exists (it still checks that the file is a state
// file of a known format version). A missing parent directory is an error.
// timeout bounds the wait for the lock; 0 means do not wait.
func Init(ctx context.Context, path string, timeout time.Duration) error {
	if fi, err := os.Stat(path); err == nil && fi.Size() > 0 {
		db, err := openDB(ctx, path, true, timeout)
		if err != nil {
			return err
		}
		var exists bool
		err = db.View(func(tx *bolt.Tx) error {
			var err error
			exists, err = checkMeta(tx, path)
			return err
		})
		_ = db.Close()
		if err != nil || exists {
			return err
		}
	}
	if err := checkDir(path); err != nil {
		return err
	}
	db, err := openDB(ctx, path, false, timeout)
	if err != nil {
		return err
	}
	if err := db.Update(func(tx *bolt.Tx) error { return ensureMeta(tx, path) }); err != nil {
		_ = db.Close()
		return err
	}
	if err := db.Close(); err != nil {
		return fmt.Errorf("state: close %s after creating it: %w", path, err)
	}
	return nil
}

// Read returns a copy of the state at path. It opens the file read-only
// under a shared lock (so it waits only for writers), copies everything and
// closes the file again. A missing file gives an empty Snapshot with Lineage
// "". When a writer holds the lock longer than timeout (0: do not wait) it
// returns a *LockError carrying the holder's LockInfo.
func Read(ctx context.Context, path string, timeout time.Duration) (*Snapshot, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return emptySnapshot(), nil
	}
	db, err := openDB(ctx, path, true, timeout)
	if err != nil {
		// A zero-length file is a state whose creator died before bbolt
		// wrote its first page: it holds nothing.
		var le *LockError
		if fi, serr := os.Stat(path); serr == nil && fi.Size() == 0 && !errors.As(err, &le) && ctx.Err() == nil {
			return emptySnapshot(), nil
		}
		return nil, err
	}
	defer db.Close()
	var s *Snapshot
	err = db.View(func(tx *bolt.Tx) error {
		var err error
		s, err = readSnapshot(tx, path)
		return err
	})
	if err != nil {
		return nil, err
	}
	// Under the shared file lock no writer is alive: a lock record is
	// a dead holder's.
	if s.StaleLock, err = readLockInfo(path); err != nil {
		s.StaleLock = &LockInfo{Info: err.Error()}
	}
	return s, nil
}

func emptySnapshot() *Snapshot { return &Snapshot{Bindings: plan.Bindings{}} }

// checkDir reports a missing parent directory of path as a sentence.
func checkDir(path string) error {
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("state: cannot create %s because directory %s does not exist; create it first or choose another state path: %w", path, dir, err)
	case err != nil:
		return fmt.Errorf("state: cannot create %s: %w", path, err)
	case !fi.IsDir():
		return fmt.Errorf("state: cannot create %s because %s is not a directory; choose another state path", path, dir)
	}
	return nil
}

// openDB opens the bbolt file, shared (readOnly) or exclusive, retrying the
// file lock every pollInterval until timeout (0: one attempt) or ctx ends.
// A lock timeout is returned as a *LockError with the holder's record.
func openDB(ctx context.Context, path string, readOnly bool, timeout time.Duration) (*bolt.DB, error) {
	deadline := time.Now().Add(timeout)
	for {
		// Timeout 1ns makes bbolt try the flock exactly once; the loop
		// below does the waiting so that ctx can end it.
		db, err := bolt.Open(path, fileMode, &bolt.Options{Timeout: time.Nanosecond, ReadOnly: readOnly})
		if err == nil {
			return db, nil
		}
		if !errors.Is(err, berrors.ErrTimeout) {
			return nil, openError(path, err)
		}
		if !time.Now().Before(deadline) {
			info, _ := readLockInfo(path)
			return nil, &LockError{Info: info, Path: path}
		}
		t := time.NewTimer(min(pollInterval, time.Until(deadline)))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("state: gave up waiting for the lock on %s: %w", path, ctx.Err())
		case <-t.C:
		}
	}
}

func openError(path string, err error) error {
	switch {
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum),
		errors.Is(err, berrors.ErrVersionMismatch), errors.Is(err, berrors.ErrInvalidMapping):
		return errorf(ErrCorrupt, err, "%s is not a valid state file (%v); check the state path, or restore the file from a backup", path, err)
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("state: cannot open %s because it or its directory does not exist; create the directory or choose another state path: %w", path, err)
	case errors.Is(err, os.ErrPermission):
		return fmt.Errorf("state: no permission to open %s; fix its permissions or run as its owner: %w", path, err)
	}
	// bbolt reports a file too short to hold its meta pages (and a few other
	// malformed files) with plain errors; anything else that is not an OS
	// error means the content is wrong.
	var pe *os.PathError
	if !errors.As(err, &pe) {
		return errorf(ErrCorrupt, err, "%s is not a valid state file (%v); check the state path, or restore the file from a backup", path, err)
	}
	return fmt.Errorf("state: cannot open %s; check that the state path names a file you may write: %w", path, err)
}

// checkMeta reports whether tx holds an initialised state, and fails when
// it holds something else: an unknown format version or foreign buckets.
func checkMeta(tx *bolt.Tx, path string) (bool, error) {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		foreign := ""
		_ = tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			foreign = string(name)
			return errors.New("stop")
		})
		if foreign != "" {
			return false, errorf(ErrCorrupt, nil, "%s is a bbolt database but not an ldapply state file (it has a bucket %q and no %q bucket); check the state path", path, foreign, bucketMeta)
		}
		return false, nil
	}
	v := meta.Get(keyVersion)
	if len(v) != 8 {
		return false, errorf(ErrCorrupt, nil, "%s has no valid format version; check the state path, or restore the file from a backup", path)
	}
	if n := binary.BigEndian.Uint64(v); n != FormatVersion {
		return false, errorf(ErrFormatVersion, nil, "%s has state format version %d but this ldapply reads only version %d; use the ldapply release that wrote it", path, n, FormatVersion)
	}
	if len(meta.Get(keyLineage)) == 0 || len(meta.Get(keySerial)) != 8 || len(meta.Get(keySignKey)) != SignKeySize ||
		tx.Bucket(bucketBindings) == nil || tx.Bucket(bucketRuns) == nil {
		return false, errorf(ErrCorrupt, nil, "%s lacks part of its metadata; restore the file from a backup", path)
	}
	return true, nil
}

// ensureMeta initialises an empty database: format version, new lineage,
// serial 0, new sign key and the buckets. It validates an initialised one.
func ensureMeta(tx *bolt.Tx, path string) error {
	exists, err := checkMeta(tx, path)
	if err != nil || exists {
		return err
	}
	key := make([]byte, SignKeySize)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("state: cannot make a sign key for %s: %w", path, err)
	}
	meta, err := tx.CreateBucket(bucketMeta)
	if err != nil {
		return fmt.Errorf("state: initialise %s: %w", path, err)
	}
	for _, kv := range []struct{ k, v []byte }{
		{keyVersion, u64(FormatVersion)},
		{keyLineage, []byte(uuid.NewString())},
		{keySerial, u64(0)},
		{keySignKey, key},
	} {
		if err := meta.Put(kv.k, kv.v); err != nil {
			return fmt.Errorf("state: initialise %s: %w", path, err)
		}
	}
	for _, b := range [][]byte{bucketBindings, bucketRuns} {
		if _, err := tx.CreateBucketIfNotExists(b); err != nil {
			return fmt.Errorf("state: initialise %s: %w", path, err)
		}
	}
	return nil
}

// readSnapshot copies the state out of tx.
func readSnapshot(tx *bolt.Tx, path string) (*Snapshot, error) {
	s := emptySnapshot()
	exists, err := checkMeta(tx, path)
	if err != nil || !exists {
		return s, err
	}
	meta := tx.Bucket(bucketMeta)
	s.Lineage = string(meta.Get(keyLineage))
	s.Serial = binary.BigEndian.Uint64(meta.Get(keySerial))
	s.SignKey = bytes.Clone(meta.Get(keySignKey))
	var dec BindingDecoder
	err = tx.Bucket(bucketBindings).ForEach(func(k, v []byte) error {
		b, err := dec.Decode(v)
		if err != nil {
			return errorf(ErrCorrupt, err, "%s holds an unreadable binding %q (%v); restore the file from a backup", path, k, err)
		}
		s.Bindings.Add(b)
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = tx.Bucket(bucketRuns).ForEach(func(k, v []byte) error {
		var r Run
		if err := json.Unmarshal(v, &r); err != nil {
			return errorf(ErrCorrupt, err, "%s holds an unreadable run record (%v); restore the file from a backup", path, err)
		}
		s.Runs = append(s.Runs, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// bindingOptions unmarshal a binding as encoding/json did: names in any
// case, a name twice, bytes that are not UTF-8.
var bindingOptions = jsonv2.JoinOptions(jsonv2.MatchCaseInsensitiveNames(true), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))

// UnmarshalBinding decodes a stored binding as encoding/json did, with
// encoding/json/v2, which is faster (bench/fast-paths.md has the figure):
// a state holds one for each of 100,000 users, read by every plan.
func UnmarshalBinding(data []byte) (plan.Binding, error) {
	var b plan.Binding
	err := jsonv2.Unmarshal(data, &b, bindingOptions)
	return b, err
}

// BindingDecoder decodes stored bindings as UnmarshalBinding does, and
// holds their strings in shared blocks (see arena.Strings): a plan holds
// its state's bindings, three strings each for each of 100,000 users,
// from its start to its end, and the collector looks at them at every
// cycle. The zero BindingDecoder is ready to use; it is not safe for
// concurrent use.
type BindingDecoder struct {
	strs arena.Strings
}

// Decode returns the binding data holds.
func (d *BindingDecoder) Decode(data []byte) (plan.Binding, error) {
	b, err := UnmarshalBinding(data)
	if err != nil {
		return b, err
	}
	switch b.Kind { // the constants' strings, not a copy each
	case plan.KindUser:
		b.Kind = plan.KindUser
	case plan.KindGroup:
		b.Kind = plan.KindGroup
	default:
		b.Kind = plan.Kind(d.strs.Add(string(b.Kind)))
	}
	b.Key, b.ID, b.Name = d.strs.Add(b.Key), d.strs.Add(b.ID), d.strs.Add(b.Name)
	return b, nil
}

func bindingKey(kind plan.Kind, key string) []byte {
	return []byte(string(kind) + "\x00" + key)
}

func u64(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }
