// Command ldapply keeps Icinga Notifications, Univention UCS and Teamwire
// in step with an LDAP directory: plan, review, apply.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/ldapply/ldapply/apply"
	"github.com/ldapply/ldapply/state"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "0.1.0-dev"

// Exit codes. They are part of the CLI contract (README "Exit codes").
const (
	exitOK          = 0
	exitError       = 1
	exitChanges     = 2 // plan --detailed-exitcode: changes present
	exitLocked      = 3 // the state is locked by another run
	exitDeletes     = 4 // plan --fail-on-delete: the plan deletes objects
	exitInterrupted = 130
)

// exitError carries an exit code through urfave/cli to main, so deferred
// functions run before the process ends.
type codeError struct {
	code int
	err  error
}

func (e *codeError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}
func (e *codeError) Unwrap() error { return e.err }

func main() {
	// LDAPPLY_CPUPROFILE=FILE and LDAPPLY_MEMPROFILE=FILE write profiles
	// of the run (make bench).
	stop := func() {}
	if path := os.Getenv("LDAPPLY_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil && pprof.StartCPUProfile(f) == nil {
			stop = func() { pprof.StopCPUProfile(); f.Close() }
		}
	}
	code := Main(os.Args, os.Stdout, os.Stderr)
	stop()
	if path := os.Getenv("LDAPPLY_MEMPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			pprof.Lookup("allocs").WriteTo(f, 0)
			f.Close()
		}
	}
	os.Exit(code)
}

// Main runs the CLI and returns the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// After the first signal, the default handling returns: a second
	// Ctrl-C ends the process at once (the state stays truthful).
	go func() { <-ctx.Done(); stop() }()
	if isTerminal(stderr) {
		// One writer owns the terminal: log lines print above the
		// progress bar, never inside it.
		stderr = newConsole(stderr)
	}
	app := newApp(stdout, stderr)
	args, err := intermix(app, args)
	if err == nil {
		err = app.RunContext(ctx, args)
	}
	return exitCode(err, stderr)
}

// exitCode maps an error to an exit code and prints it; the only place
// that does either.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	code := exitError
	var ce *codeError
	var le *state.LockError
	switch {
	case errors.As(err, &ce):
		code = ce.code
		if ce.err == nil {
			return code
		}
	case errors.As(err, &le), errors.Is(err, state.ErrLocked):
		code = exitLocked
	case errors.Is(err, context.Canceled):
		code = exitInterrupted
	}
	msg := err.Error()
	if code == exitInterrupted && errors.Is(err, context.Canceled) {
		msg = "interrupted: " + strings.TrimPrefix(msg, "context canceled\n")
	}
	fmt.Fprintf(stderr, "Error: %s\n", msg)
	return code
}

// newLogger writes slog text to stderr at LOG_LEVEL (DEBUG, INFO, WARN,
// ERROR; default INFO), as the UCS connector does.
func newLogger(stderr io.Writer) *slog.Logger {
	level := slog.LevelInfo
	if v := os.Getenv("LOG_LEVEL"); v != "" {
		if err := level.UnmarshalText([]byte(strings.ToUpper(strings.TrimSpace(v)))); err != nil {
			level = slog.LevelInfo
			defer slog.New(slog.NewTextHandler(stderr, nil)).Warn("LOG_LEVEL is not one of DEBUG, INFO, WARN, ERROR; using INFO.", "value", v)
		}
	}
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
}

// colorOK reports whether to colour what is written to w: when the
// command's --force-color is set (and --no-color is not), or when w is a
// terminal, NO_COLOR is unset or empty (no-color.org: only a non-empty
// value counts) and --no-color is not set.
func colorOK(w io.Writer, c *cli.Context) bool {
	if c != nil && c.Bool("force-color") && !c.Bool("no-color") {
		return true
	}
	return colorWanted(c) && isTerminal(w)
}

// colorWanted reports whether neither NO_COLOR (non-empty) nor the
// command's --no-color (c may be nil) turns colour off.
func colorWanted(c *cli.Context) bool {
	return os.Getenv("NO_COLOR") == "" && (c == nil || !c.Bool("no-color"))
}

var _ apply.Recorder = (*state.Locked)(nil)
