package httpapi_test

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ldapply/ldapply/fixtures/fault"
	"github.com/ldapply/ldapply/providers/httpapi"
	"github.com/ldapply/ldapply/providers/netfail"
)

// netClient is a client of base that logs into the returned buffer,
// reports waits every 20ms and has the given timeouts and attempts.
func netClient(t *testing.T, base string, timeout time.Duration, attempts int) (*httpapi.Client, *fault.Log, *waits) {
	t.Helper()
	logs := &fault.Log{}
	c, w := newClient(t, base, func(cfg *httpapi.Config) {
		cfg.Target = "icinga"
		cfg.Timeout, cfg.ConnectTimeout = timeout, timeout
		cfg.Policy.Attempts = attempts
		cfg.Log = slog.New(slog.NewTextHandler(logs, nil))
		cfg.WaitEvery = 20 * time.Millisecond
	})
	return c, logs, w
}

// classOf returns the netfail class of err, failing the test when err
// is no network failure.
func classOf(t *testing.T, err error) netfail.Class {
	t.Helper()
	ne := netfail.As(err)
	if ne == nil {
		t.Fatalf("error %v is no classified network failure", err)
	}
	return ne.Class
}

// TestSilentServer: a port that accepts and never answers is reported
// while the request waits, then fails within the timeout with its own
// message, over http:// (waiting for the answer) and https:// (the TLS
// handshake).
func TestSilentServer(t *testing.T) {
	addr := fault.Silent(t)
	for _, tc := range []struct {
		scheme, stage, message string
	}{
		{"http", "(waiting for the answer, ", "sent nothing for 200ms (waiting for the answer); check that target.icinga.url is the right server, or raise target.icinga.timeout"},
		{"https", "(TLS handshake, ", "accepted the connection but did not answer the TLS handshake within 200ms (is this port speaking TLS?); check target.icinga.url, or raise target.icinga.connect_timeout"},
	} {
		t.Run(tc.scheme, func(t *testing.T) {
			c, logs, _ := netClient(t, tc.scheme+"://"+addr, 200*time.Millisecond, 1)
			start := time.Now()
			_, err := c.Do(context.Background(), get("channels"))
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("took %s under a 200ms timeout", took)
			}
			if classOf(t, err) != netfail.Silent || !httpapi.IsTransient(err) || !strings.Contains(err.Error(), tc.message) {
				t.Errorf("error %q, want a transient one saying %q", err, tc.message)
			}
			want := "Still waiting for " + tc.scheme + "://" + addr + " " + tc.stage
			if !strings.Contains(logs.String(), want) {
				t.Errorf("log lacks %q:\n%s", want, logs)
			}
		})
	}
}

// TestNeverConnected: a refused connection says so, and is retried.
func TestNeverConnected(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c, logs, w := netClient(t, "http://"+addr, time.Second, 3)
	_, err = c.Do(context.Background(), get("channels"))
	want := "icinga: GET channels: never connected to http://" + addr + "; check target.icinga.url and that the server is running and reachable: connect: connection refused (gave up after 3 attempts)"
	if classOf(t, err) != netfail.NeverConnected || err.Error() != want || len(w.get()) != 2 {
		t.Errorf("error %q after %d waits, want %q after 2", err, len(w.get()), want)
	}
	if !strings.Contains(logs.String(), "never connected to http://"+addr) || !strings.Contains(logs.String(), "trying again") {
		t.Errorf("the retries were not logged:\n%s", logs)
	}
}

// TestTLSAtPlainPort: https:// at a port that speaks plain HTTP fails
// once, with the TLS message; it is not retried.
func TestTLSAtPlainPort(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(srv.Close)
	c, _, w := netClient(t, strings.Replace(srv.URL, "http://", "https://", 1), time.Second, 5)
	_, err := c.Do(context.Background(), get("channels"))
	want := "TLS handshake with https://" + srv.Listener.Addr().String() + " failed (is this port speaking TLS?); check the scheme and port of target.icinga.url"
	if classOf(t, err) != netfail.HandshakeFailed || httpapi.IsTransient(err) || !strings.Contains(err.Error(), want) || len(w.get()) != 0 {
		t.Errorf("error %q after %d waits, want one attempt saying %q", err, len(w.get()), want)
	}
}

// TestCertificateRefused: a certificate the client does not trust is a
// permanent failure that names the ca_cert setting.
func TestCertificateRefused(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(srv.Close)
	c, _, w := netClient(t, srv.URL, time.Second, 5)
	_, err := c.Do(context.Background(), get("channels"))
	if classOf(t, err) != netfail.CertificateRefused || httpapi.IsTransient(err) || !strings.Contains(err.Error(), "check target.icinga.ca_cert") || len(w.get()) != 0 {
		t.Errorf("error %q after %d waits, want one attempt naming target.icinga.ca_cert", err, len(w.get()))
	}
}

// TestCutOff: a connection the server drops before its answer is
// complete is "cut off", and retried.
func TestCutOff(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		fault.DropConnection(w)
	}))
	t.Cleanup(srv.Close)
	c, _, w := netClient(t, srv.URL, time.Second, 2)
	_, err := c.Do(context.Background(), get("channels"))
	want := "the connection to http://" + srv.Listener.Addr().String() + " was cut off mid-read"
	if classOf(t, err) != netfail.CutOff || !httpapi.IsTransient(err) || !strings.Contains(err.Error(), want) || n.Load() != 2 || len(w.get()) != 1 {
		t.Errorf("error %q after %d requests, want 2 requests and %q", err, n.Load(), want)
	}
}
