package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/ldapply/ldapply/apply"
)

// auditRecord is one line of --audit-log: how one change ended. It names
// the object and never holds its values, so it holds no secret.
type auditRecord struct {
	Time      time.Time `json:"time"`
	Run       string    `json:"run"`
	Operation string    `json:"operation"`
	Action    string    `json:"action"`
	Kind      string    `json:"kind"`
	Name      string    `json:"name"`
	Key       string    `json:"key"`
	ID        string    `json:"id"`
	// Outcome is applied, failed or skipped (not started).
	Outcome string   `json:"outcome"`
	Error   string   `json:"error,omitempty"`
	Without []string `json:"without,omitempty"`
}

// auditLog writes --audit-log: JSON lines, one per change, each written
// as the change finishes (so a killed run leaves every change it
// finished), appended to what earlier runs wrote. It implements
// apply.Observer.
type auditLog struct {
	path      string
	run       string
	operation string

	mu    sync.Mutex
	f     *os.File
	lines int
	err   error // the first write error
}

var _ apply.Observer = (*auditLog)(nil)

// openAuditLog opens path for appending, creating it (mode 0600) when
// missing.
func openAuditLog(path, run, operation string) (*auditLog, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cannot open the audit log %s; check the path and its directory's permissions: %w", path, err)
	}
	return &auditLog{path: path, run: run, operation: operation, f: f}, nil
}

// Observe writes one line for o. A write error is kept for Close; the
// lines after it are not written.
func (a *auditLog) Observe(o *apply.Outcome) {
	c := o.Change
	rec := auditRecord{Time: o.Time.UTC(), Run: a.run, Operation: a.operation, Action: c.Action.String(), Kind: string(c.Kind),
		Name: c.Name(), Key: c.Key, ID: c.ID, Outcome: o.Result, Without: o.Without}
	if o.Err != nil {
		rec.Error = o.Err.Error()
	}
	line, err := json.Marshal(rec)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.err != nil {
		return
	}
	if err == nil {
		_, err = a.f.Write(append(line, '\n'))
	}
	if err != nil {
		a.err = fmt.Errorf("the audit log %s is incomplete: writing the line for %s %s %s failed; check free space: %w", a.path, c.Action, c.Kind, c.Name(), err)
		return
	}
	a.lines++
}

// Close fsyncs and closes the file. It returns the first write error, if
// any, so that a run whose audit log is incomplete does not pass for
// complete.
func (a *auditLog) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	err := a.f.Sync()
	if cerr := a.f.Close(); err == nil {
		err = cerr
	}
	if a.err != nil {
		return a.err
	}
	if err != nil {
		return fmt.Errorf("the audit log %s may be incomplete: %w", a.path, err)
	}
	return nil
}
