package netfail_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/ldapply/ldapply/providers/netfail"
)

func TestClassify(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	cert := &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}
	for name, tc := range map[string]struct {
		stage     netfail.Stage
		err       error
		want      netfail.Class
		permanent bool
	}{
		"refused":            {netfail.Connecting, refused, netfail.NeverConnected, false},
		"dial timeout":       {netfail.Connecting, &net.OpError{Op: "dial", Err: os.ErrDeadlineExceeded}, netfail.NeverConnected, false},
		"unknown host":       {netfail.Connecting, &net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}}, netfail.NeverConnected, true},
		"not TLS":            {netfail.Handshaking, io.EOF, netfail.HandshakeFailed, true},
		"not TLS, an answer": {netfail.Handshaking, tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}, netfail.HandshakeFailed, true},
		"certificate":        {netfail.Handshaking, fmt.Errorf("get: %w", cert), netfail.CertificateRefused, true},
		"silent handshake":   {netfail.Handshaking, context.DeadlineExceeded, netfail.Silent, false},
		"silent answer":      {netfail.Waiting, os.ErrDeadlineExceeded, netfail.Silent, false},
		"dropped":            {netfail.Waiting, io.EOF, netfail.CutOff, false},
		"reset mid-body":     {netfail.Reading, &net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, netfail.CutOff, false},
		"cancelled":          {netfail.Waiting, context.Canceled, netfail.Other, false},
		"not a network one":  {netfail.Reading, errors.New("bad JSON"), netfail.Other, false},
	} {
		t.Run(name, func(t *testing.T) {
			e := netfail.New(tc.stage, "https://x", netfail.KeysOf("target.x"), time.Second, tc.err)
			if tc.want == netfail.Other {
				if e != nil {
					t.Errorf("classified as %s, want no network failure", e.Class)
				}
				return
			}
			if e == nil || e.Class != tc.want || e.Permanent() != tc.permanent {
				t.Fatalf("got %+v, want class %s, permanent %v", e, tc.want, tc.permanent)
			}
			if !errors.Is(e, tc.err) {
				t.Errorf("%v does not wrap its cause", e)
			}
		})
	}
}

func TestSentences(t *testing.T) {
	keys := netfail.KeysOf("target.icinga")
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	for _, tc := range []struct {
		stage netfail.Stage
		err   error
		want  string
	}{
		{netfail.Connecting, refused, "never connected to https://x; check target.icinga.url and that the server is running and reachable: connect: connection refused"},
		{netfail.Connecting, &net.OpError{Op: "dial", Err: os.ErrDeadlineExceeded}, "never connected to https://x: no answer to the connection request within 1s; check target.icinga.url, a firewall on the way, or raise target.icinga.connect_timeout: i/o timeout"},
		{netfail.Handshaking, io.EOF, "TLS handshake with https://x failed (is this port speaking TLS?); check the scheme and port of target.icinga.url: EOF"},
		{netfail.Waiting, os.ErrDeadlineExceeded, "https://x sent nothing for 1s (waiting for the answer); check that target.icinga.url is the right server, or raise target.icinga.timeout: i/o timeout"},
		{netfail.Reading, io.ErrUnexpectedEOF, "the connection to https://x was cut off mid-read; check the server's log and any proxy or load balancer between ldapply and target.icinga.url: unexpected EOF"},
	} {
		if got := netfail.New(tc.stage, "https://x", keys, time.Second, tc.err).Error(); got != tc.want {
			t.Errorf("got  %s\nwant %s", got, tc.want)
		}
	}
}

// TestWatch: a watch reports while nothing happens, each time with the
// wait so far.
func TestWatch(t *testing.T) {
	reports := make(chan time.Duration, 100)
	w := netfail.NewWatch(5*time.Millisecond, func(waited time.Duration) { reports <- waited })
	defer w.Stop()
	first := <-reports
	second := <-reports
	if first < 2500*time.Microsecond || second < first+5*time.Millisecond {
		t.Errorf("reports %s then %s, want the first after half the interval, the next an interval later", first, second)
	}
}

func TestSeconds(t *testing.T) {
	for d, want := range map[time.Duration]string{250 * time.Millisecond: "250ms", 20 * time.Second: "20 s", 19600 * time.Millisecond: "20 s"} {
		if got := netfail.Seconds(d); got != want {
			t.Errorf("Seconds(%s) = %q, want %q", d, got, want)
		}
	}
}
