package pgstate_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/ldapply/ldapply/fixtures/fault"
	"github.com/ldapply/ldapply/fixtures/postgres"
	"github.com/ldapply/ldapply/providers/netfail"
	"github.com/ldapply/ldapply/state"
	"github.com/ldapply/ldapply/state/pgstate"
	"github.com/ldapply/ldapply/state/statetest"
)

// secret is the password of every DSN here: no message may show it.
const secret = "Hush-Pass-4711"

// listen starts a TCP server on 127.0.0.1 that runs serve for each
// connection and returns its port; cleanup closes it and every
// connection.
func listen(t *testing.T, serve func(net.Conn)) int {
	t.Helper()
	_, port, _ := net.SplitHostPort(fault.Serve(t, serve))
	n, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// silent accepts and never says a word.
func silent(c net.Conn) { io.Copy(io.Discard, c) }

// loginThenSilent completes a login (refusing TLS) and then answers
// nothing: a server that hangs once connected.
func loginThenSilent(c net.Conn) {
	be := pgproto3.NewBackend(c, c)
	msg, err := be.ReceiveStartupMessage()
	if _, ok := msg.(*pgproto3.SSLRequest); ok {
		if _, err := c.Write([]byte("N")); err != nil {
			return
		}
		msg, err = be.ReceiveStartupMessage()
	}
	if _, ok := msg.(*pgproto3.StartupMessage); !ok || err != nil {
		c.Close() // a cancel request, or garbage
		return
	}
	be.Send(&pgproto3.AuthenticationOk{})
	be.Send(&pgproto3.ReadyForQuery{TxStatus: 'I'})
	if err := be.Flush(); err != nil {
		return
	}
	silent(c)
}

// bounded is a context that ends a test whose bound failed to apply
// with an error rather than a hang.
func bounded(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// openLogged opens dsn with the given bounds, logging to the returned
// buffer and reporting waits every 100 ms.
func openLogged(t *testing.T, dsn string, connectTimeout, timeout time.Duration) (*pgstate.Backend, *fault.Log) {
	t.Helper()
	logs := &fault.Log{}
	b, err := pgstate.Open(pgstate.Config{DSN: dsn, Schema: "ldapply", Workspace: "prod",
		ConnectTimeout: connectTimeout, Timeout: timeout, Log: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	pgstate.SetWaitEvery(b, 100*time.Millisecond)
	return b, logs
}

// classified returns err's *netfail.Error, failing the test when it has
// none, when its class is not want, or when err shows the password.
func classified(t *testing.T, err error, want netfail.Class) *netfail.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want a %s failure", want)
	}
	t.Log(err)
	if strings.Contains(err.Error(), secret) {
		t.Errorf("the error shows the password: %v", err)
	}
	ne := netfail.As(err)
	if ne == nil {
		t.Fatalf("error %q is no *netfail.Error", err)
	}
	if ne.Class != want {
		t.Fatalf("class %s, want %s: %v", ne.Class, want, err)
	}
	return ne
}

// TestSilentServer checks that a port that accepts and never answers
// gives a waiting line while it waits, then, within the connect
// timeout, an error that says the server accepted and sent nothing and
// names state.postgres.connect_timeout, whatever the sslmode.
func TestSilentServer(t *testing.T) {
	port := listen(t, silent)
	for _, tc := range []struct {
		name  string
		query string
		bound time.Duration // Config.ConnectTimeout
		want  time.Duration // the bound that applies
	}{
		{"disable", "sslmode=disable", time.Second, time.Second},
		{"prefer", "sslmode=prefer", time.Second, time.Second},
		{"dsn wins", "sslmode=disable&connect_timeout=1", time.Hour, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := fmt.Sprintf("postgres://127.0.0.1:%d/statedb", port)
			b, logs := openLogged(t, fmt.Sprintf("postgres://ldapply:%s@127.0.0.1:%d/statedb?%s", secret, port, tc.query), tc.bound, 0)
			start := time.Now()
			_, err := b.Read(bounded(t), 0)
			took := time.Since(start)
			ne := classified(t, err, netfail.Silent)
			msg := err.Error()
			for _, want := range []string{addr + " sent nothing for " + tc.want.String(), "state.postgres.connect_timeout", "state.postgres.dsn"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q lacks %q", msg, want)
				}
			}
			if strings.Contains(msg, "never connected") || ne.Permanent() {
				t.Errorf("a silent server reads as never connected or permanent: %v", err)
			}
			if took < tc.want || took > tc.want+5*time.Second {
				t.Errorf("gave up after %s, want just after %s", took, tc.want)
			}
			out := logs.String()
			if want := "Still waiting for " + addr + " (connecting, "; !strings.Contains(out, want) {
				t.Errorf("log lacks %q:\n%s", want, out)
			}
			if strings.Contains(out, secret) {
				t.Errorf("the log shows the password:\n%s", out)
			}
		})
	}
}

// TestRefusedPort checks that a port nobody listens on reads as never
// connected, for Read, Lock and Init alike.
func TestRefusedPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	b, _ := openLogged(t, fmt.Sprintf("host=127.0.0.1 port=%d user=ldapply password=%s dbname=statedb", port, secret), time.Second, 0)
	ctx := context.Background()
	_, rerr := b.Read(ctx, 0)
	_, lerr := b.Lock(ctx, state.NewLockInfo("apply", "test"), 0)
	ierr := b.Init(ctx, 0)
	for _, err := range []error{rerr, lerr, ierr} {
		classified(t, err, netfail.NeverConnected)
		want := fmt.Sprintf("never connected to postgres://127.0.0.1:%d/statedb; check state.postgres.dsn", port)
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

// TestCutOff checks that a server that hangs up during the login reads
// as cut off, not as never connected.
func TestCutOff(t *testing.T) {
	port := listen(t, func(c net.Conn) {
		c.Read(make([]byte, 1))
		c.Close()
	})
	b, _ := openLogged(t, fmt.Sprintf("postgres://ldapply:%s@127.0.0.1:%d/statedb?sslmode=disable", secret, port), time.Second, 0)
	_, err := b.Read(context.Background(), 0)
	classified(t, err, netfail.CutOff)
	if !strings.Contains(err.Error(), "cut off mid-read") {
		t.Errorf("error %q does not say cut off mid-read", err)
	}
}

// TestTLSRefused checks that sslmode=require against a server without
// TLS is a permanent handshake failure that says so.
func TestTLSRefused(t *testing.T) {
	srv := postgres.Shared(t)
	dsn := fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/postgres?sslmode=require", postgres.User, secret, srv.Port)
	b, _ := openLogged(t, dsn, 5*time.Second, 0)
	_, err := b.Read(context.Background(), 0)
	ne := classified(t, err, netfail.HandshakeFailed)
	if !ne.Permanent() || !strings.Contains(err.Error(), "is this port speaking TLS?") {
		t.Errorf("a refused TLS handshake: permanent %v, message %q", ne.Permanent(), err)
	}
}

// TestSilentAfterLogin checks that a server that hangs once connected
// is given up on after state.postgres.timeout, with waiting lines that
// say what ldapply waits for.
func TestSilentAfterLogin(t *testing.T) {
	port := listen(t, loginThenSilent)
	b, logs := openLogged(t, fmt.Sprintf("postgres://ldapply:%s@127.0.0.1:%d/statedb?sslmode=disable", secret, port), 5*time.Second, time.Second)
	start := time.Now()
	_, err := b.Read(bounded(t), 0)
	took := time.Since(start)
	classified(t, err, netfail.Silent)
	if want := "raise state.postgres.timeout"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q lacks %q", err, want)
	}
	if took < time.Second || took > 6*time.Second {
		t.Errorf("gave up after %s, want just after the 1s timeout", took)
	}
	if want := fmt.Sprintf("Still waiting for postgres://127.0.0.1:%d/statedb (taking the lock, ", port); !strings.Contains(logs.String(), want) {
		t.Errorf("log lacks %q:\n%s", want, logs)
	}
}

// TestLockWaitOutlastsTimeout checks that the wait for the lock is
// bounded by the lock timeout, not by state.postgres.timeout: a wait
// longer than the statement bound ends in a *state.LockError naming the
// holder.
func TestLockWaitOutlastsTimeout(t *testing.T) {
	held := newBackend(t)
	l := statetest.MustLock(t, held, "apply")
	b, err := pgstate.Open(pgstate.Config{DSN: postgres.Shared(t).DSN("postgres"), Schema: "ldapply", Workspace: held.Workspace(), Timeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	const lockTimeout = 2 * time.Second
	start := time.Now()
	_, err = b.Lock(context.Background(), state.NewLockInfo("apply", "test"), lockTimeout)
	var le *state.LockError
	if !errors.As(err, &le) || le.Info == nil || le.Info.ID != l.(*pgstate.Session).Info().ID {
		t.Fatalf("Lock while held = %v, want a *state.LockError naming the holder", err)
	}
	if took := time.Since(start); took < lockTimeout {
		t.Errorf("Lock gave up after %s, before its lock timeout %s", took, lockTimeout)
	}
}

// TestBoundsValidated checks that negative bounds are refused naming the
// setting.
func TestBoundsValidated(t *testing.T) {
	for key, cfg := range map[string]pgstate.Config{
		"state.postgres.connect_timeout": {ConnectTimeout: -time.Second},
		"state.postgres.timeout":         {Timeout: -time.Second},
	} {
		cfg.DSN, cfg.Schema, cfg.Workspace = "postgres://u@127.0.0.1/x", "s", "w"
		if _, err := pgstate.Open(cfg); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("Open with a negative %s = %v", key, err)
		}
	}
}
