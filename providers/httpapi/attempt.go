package httpapi

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http/httptrace"
	"sync/atomic"
	"time"

	"github.com/ldapply/ldapply/providers/netfail"
)

// attempt follows one exchange through its stages (see netfail.Stage):
// it bounds each silence with the client's timeouts and reports, through
// the client's log, an exchange that has waited for a while.
type attempt struct {
	c      *Client
	ctx    context.Context
	cancel context.CancelCauseFunc
	stage  atomic.Int32
	idle   *time.Timer
	watch  *netfail.Watch
}

// errSilent ends an attempt whose server sent nothing for the timeout. It
// is a deadline, so the failure is transient.
var errSilent = fmt.Errorf("nothing arrived within the timeout: %w", context.DeadlineExceeded)

// startAttempt begins an attempt of the request "method show" under ctx;
// end must be called when it is over.
func (c *Client) startAttempt(ctx context.Context, method, show string) *attempt {
	a := &attempt{c: c}
	a.ctx, a.cancel = context.WithCancelCause(ctx)
	// Until a connection is ready the transport's connect and handshake
	// timeouts bound the attempt; this one only backs them up.
	a.idle = time.AfterFunc(c.cfg.Timeout+2*c.cfg.ConnectTimeout, func() { a.cancel(errSilent) })
	a.watch = netfail.NewWatch(c.cfg.WaitEvery, func(waited time.Duration) {
		c.waiting(method, show, a.Stage(), waited)
	})
	a.ctx = httptrace.WithClientTrace(a.ctx, &httptrace.ClientTrace{
		ConnectStart:      func(string, string) { a.enter(netfail.Connecting) },
		TLSHandshakeStart: func() { a.enter(netfail.Handshaking) },
		TLSHandshakeDone:  func(tls.ConnectionState, error) { a.watch.Touch() },
		GotConn: func(httptrace.GotConnInfo) {
			a.enter(netfail.Waiting)
			a.idle.Reset(c.cfg.Timeout)
		},
		WroteRequest: func(httptrace.WroteRequestInfo) {
			a.watch.Touch()
			a.idle.Reset(c.cfg.Timeout)
		},
		GotFirstResponseByte: func() { a.enter(netfail.Reading) },
	})
	return a
}

// enter moves the attempt to stage s.
func (a *attempt) enter(s netfail.Stage) {
	a.stage.Store(int32(s))
	a.watch.Touch()
}

// Stage is how far the attempt has got.
func (a *attempt) Stage() netfail.Stage { return netfail.Stage(a.stage.Load()) }

// end releases the attempt's timers and context.
func (a *attempt) end() {
	a.watch.Stop()
	a.idle.Stop()
	a.cancel(nil)
}

// silent reports whether the attempt ended because the server sent
// nothing for the timeout.
func (a *attempt) silent() bool { return context.Cause(a.ctx) == errSilent }

// body wraps an answer's body so that each read that brings data counts
// as progress: the timeout bounds each silence, not the whole body.
func (a *attempt) body(b io.ReadCloser) io.ReadCloser { return &idleBody{ReadCloser: b, a: a} }

type idleBody struct {
	io.ReadCloser
	a *attempt
}

func (b *idleBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.a.idle.Reset(b.a.c.cfg.Timeout)
		b.a.watch.Touch()
	}
	return n, err
}

// waiting logs that a request has waited for a while, at most once per
// interval for the whole client: ten requests waiting on one silent
// server make one line, not ten.
func (c *Client) waiting(method, show string, stage netfail.Stage, waited time.Duration) {
	if c.cfg.Log == nil {
		return
	}
	now := time.Now().UnixNano()
	last := c.lastWait.Load()
	if now-last < int64(c.cfg.WaitEvery)*9/10 || !c.lastWait.CompareAndSwap(last, now) {
		return
	}
	c.cfg.Log.Info(fmt.Sprintf("Still waiting for %s (%s, %s so far).", c.origin, stage, netfail.Seconds(waited)),
		"target", c.cfg.Target, "request", method+" "+show)
}
