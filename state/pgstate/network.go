package pgstate

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ldapply/ldapply/providers/netfail"
)

// The bounds of the exchanges with the server; see Config.
const (
	DefaultConnectTimeout = 10 * time.Second
	DefaultTimeout        = time.Minute
)

// The settings a network failure's message points at. A failure while
// connecting names connect_timeout wherever a bound ran out.
var (
	connectKeys = netfail.Keys{URL: "state.postgres.dsn", CACert: "state.postgres.dsn (sslrootcert)",
		ConnectTimeout: "state.postgres.connect_timeout", Timeout: "state.postgres.connect_timeout"}
	exchangeKeys = netfail.Keys{URL: "state.postgres.dsn", CACert: "state.postgres.dsn (sslrootcert)",
		ConnectTimeout: "state.postgres.connect_timeout", Timeout: "state.postgres.timeout"}
)

// connect opens a connection within the connect timeout, logging while
// it waits. A network failure is a *netfail.Error naming how far the
// first attempt got (pgx may try a host again without TLS, and that
// second attempt only repeats the first one's fate).
func (b *Backend) connect(ctx context.Context) (*pgx.Conn, error) {
	cc := b.conn.Copy()
	var attempts atomic.Int32
	var stage atomic.Int32 // the netfail.Stage of the first attempt
	dial := cc.DialFunc
	cc.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		first := attempts.Add(1) == 1
		c, err := dial(ctx, network, addr)
		if first && err == nil {
			stage.Store(int32(netfail.Waiting))
		}
		return c, err
	}
	// pgx leaves the TLS handshake to the first write; do it here, so
	// that a failure is known to be the handshake's.
	after := cc.AfterNetConnect
	cc.AfterNetConnect = func(ctx context.Context, pc *pgconn.Config, c net.Conn) (net.Conn, error) {
		if tc, ok := c.(*tls.Conn); ok {
			first := attempts.Load() == 1
			if first {
				stage.Store(int32(netfail.Handshaking))
			}
			if err := tc.HandshakeContext(ctx); err != nil {
				return nil, err
			}
			if first {
				stage.Store(int32(netfail.Waiting))
			}
		}
		if after != nil {
			return after(ctx, pc, c)
		}
		return c, nil
	}
	w := b.watch("connecting")
	c, err := pgx.ConnectConfig(ctx, cc)
	w.Stop()
	if err == nil {
		return c, nil
	}
	if ctx.Err() == nil {
		cause := firstCause(err)
		s := netfail.Stage(stage.Load())
		if strings.Contains(cause.Error(), "server refused TLS connection") {
			s = netfail.Handshaking
		}
		if ne := netfail.New(s, b.addr, connectKeys, cc.ConnectTimeout, cause); ne != nil {
			return nil, fmt.Errorf("pgstate: %w", ne)
		}
	}
	return nil, fmt.Errorf("pgstate: cannot connect to %s; check state.postgres.dsn and that the server is reachable: %w", b.where, err)
}

// firstCause returns the failure of pgx's first connection attempt
// without pgx's prefixes (the user and database, the address, the step),
// which the message says otherwise: "timeout: context deadline
// exceeded".
func firstCause(err error) error {
	var ce *pgconn.ConnectError
	if !errors.As(err, &ce) {
		return err
	}
	e := ce.Unwrap()
	if j, ok := e.(interface{ Unwrap() []error }); ok && len(j.Unwrap()) > 0 {
		e = j.Unwrap()[0]
	}
	// One attempt's error reads "address (host): step: cause".
	for range 2 {
		if u := errors.Unwrap(e); u != nil {
			e = u
		}
	}
	return e
}

// exchange runs fn, one statement or transaction on an open connection,
// bounded by the backend's timeout, and logs while it waits: "Still
// waiting for postgres://db.example.com:5432/ldapply (doing, 20 s so
// far)."
func (b *Backend) exchange(ctx context.Context, doing string, fn func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	w := b.watch(doing)
	defer w.Stop()
	return fn(ctx)
}

// watch logs every waitEvery that the exchange named doing still waits.
func (b *Backend) watch(doing string) *netfail.Watch {
	return netfail.NewWatch(b.waitEvery, func(waited time.Duration) {
		b.log.Info(fmt.Sprintf("Still waiting for %s (%s, %s so far).", b.addr, doing, netfail.Seconds(waited)))
	})
}

// netFailure returns err, the failure of an exchange on an open
// connection, as a *netfail.Error, or nil when it is no network failure
// (a refusal by the server, a constraint, the caller's cancellation).
func (b *Backend) netFailure(err error) *netfail.Error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return nil
	}
	return netfail.New(netfail.Waiting, b.addr, exchangeKeys, b.timeout, err)
}
