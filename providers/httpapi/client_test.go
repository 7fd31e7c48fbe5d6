package httpapi_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ldapply/ldapply/providers/httpapi"
)

// waits records a client's waits between attempts instead of sleeping.
type waits struct {
	mu sync.Mutex
	d  []time.Duration
}

func (w *waits) sleep(ctx context.Context, d time.Duration) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.d = append(w.d, d)
	return ctx.Err()
}

func (w *waits) get() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Duration(nil), w.d...)
}

// server answers each request with the next of answers (the last one
// repeats) and counts the requests.
type server struct {
	*httptest.Server
	n atomic.Int64
}

// answer is one canned answer: a status with an optional Retry-After and
// JSON message.
type answer struct {
	status     int
	retryAfter string
	message    string
}

func newServer(t *testing.T, answers ...answer) *server {
	t.Helper()
	s := &server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(s.n.Add(1)) - 1
		a := answers[min(i, len(answers)-1)]
		if a.retryAfter != "" {
			w.Header().Set("Retry-After", a.retryAfter)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(a.status)
		if a.message != "" {
			fmt.Fprintf(w, `{"message":%q}`, a.message)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func newClient(t *testing.T, base string, mod func(*httpapi.Config)) (*httpapi.Client, *waits) {
	t.Helper()
	w := &waits{}
	cfg := httpapi.Config{Target: "test", BaseURL: base + "/", Sleep: w.sleep}
	if mod != nil {
		mod(&cfg)
	}
	return httpapi.New(cfg), w
}

func get(path string) *httpapi.Request {
	return &httpapi.Request{Method: http.MethodGet, Path: path, Repeatable: true}
}

// TestAttempts: a request safe to repeat is sent 5 times in all, each wait
// within the backoff's bounds; the error says so and is transient.
func TestAttempts(t *testing.T) {
	srv := newServer(t, answer{status: 503, message: "busy"})
	c, w := newClient(t, srv.URL, nil)
	_, err := c.Do(context.Background(), get("things"))
	if want := "test: GET things: busy (HTTP 503) (gave up after 5 attempts)"; err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
	if !httpapi.IsTransient(err) || httpapi.StatusOf(err) != 503 || httpapi.As(err).Attempts != 5 {
		t.Errorf("error %#v", err)
	}
	if n := srv.n.Load(); n != 5 {
		t.Errorf("%d requests, want 5", n)
	}
	d := w.get()
	if len(d) != 4 {
		t.Fatalf("waits %v, want 4", d)
	}
	for i, got := range d {
		hi := httpapi.DefaultBase << i
		if got < hi/2 || got > hi {
			t.Errorf("wait %d is %v, want in [%v, %v]", i, got, hi/2, hi)
		}
	}
	if got := c.ContentionSignals(); got != 5 {
		t.Errorf("ContentionSignals = %d, want 5", got)
	}
}

// TestBackoffBounded: the waits double from Base and stop at Max; those of
// a serialization failure use the contention bounds.
func TestBackoffBounded(t *testing.T) {
	p := httpapi.Policy{Base: 100 * time.Millisecond, Max: time.Second, ContentionBase: 10 * time.Millisecond, ContentionMax: 50 * time.Millisecond}
	for n, hi := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		hi *= time.Millisecond
		for range 50 {
			if d := p.Backoff(n+1, false); d < hi/2 || d > hi {
				t.Fatalf("Backoff(%d) = %v, want in [%v, %v]", n+1, d, hi/2, hi)
			}
		}
	}
	for _, n := range []int{40, 1 << 20} {
		if d := p.Backoff(n, false); d < 500*time.Millisecond || d > time.Second {
			t.Errorf("Backoff(%d) = %v, want in [500ms, 1s]", n, d)
		}
	}
	for n, hi := range []time.Duration{10, 20, 40, 50, 50} {
		hi *= time.Millisecond
		for range 50 {
			if d := p.Backoff(n+1, true); d < hi/2 || d > hi {
				t.Fatalf("contention Backoff(%d) = %v, want in [%v, %v]", n+1, d, hi/2, hi)
			}
		}
	}
	// The jitter spreads the waits.
	seen := map[time.Duration]bool{}
	for range 20 {
		seen[p.Backoff(3, false)] = true
	}
	if len(seen) < 2 {
		t.Errorf("20 waits of attempt 3 are all %v: no jitter", seen)
	}
}

// TestRetryAfter: the server's wait is taken as seconds or as an HTTP
// date, at most MaxRetryAfter.
func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name, value string
		want        time.Duration
	}{
		{"seconds", "15", 15 * time.Second},
		{"date", now.Add(20 * time.Second).Format(http.TimeFormat), 20 * time.Second},
		{"date in the past", now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{"seconds capped", "3600", 60 * time.Second},
		{"date capped", now.Add(time.Hour).Format(http.TimeFormat), 60 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, answer{status: 429, retryAfter: tt.value}, answer{status: 200})
			c, w := newClient(t, srv.URL, func(cfg *httpapi.Config) { cfg.Now = func() time.Time { return now } })
			if _, err := c.Do(context.Background(), get("x")); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]time.Duration{tt.want}, w.get()); diff != "" {
				t.Errorf("waits (-want +got):\n%s", diff)
			}
		})
	}
	if d := httpapi.RetryAfter("soon", now, time.Minute); d != -1 {
		t.Errorf("RetryAfter(soon) = %v, want -1 (use the backoff)", d)
	}
	// A cap set in the policy.
	srv := newServer(t, answer{status: 503, retryAfter: "30"}, answer{status: 200})
	c, w := newClient(t, srv.URL, func(cfg *httpapi.Config) { cfg.Policy.MaxRetryAfter = 5 * time.Second })
	if _, err := c.Do(context.Background(), get("x")); err != nil || !cmp.Equal(w.get(), []time.Duration{5 * time.Second}) {
		t.Errorf("error %v, waits %v, want one of 5s", err, w.get())
	}
}

// Test500: a 500 is retried, under the contention limits, only when the
// request marks it as a serialization failure; only then is it a
// contention signal.
func Test500(t *testing.T) {
	srv := newServer(t, answer{status: 500, message: "An error occurred, please check the log."})
	c, w := newClient(t, srv.URL, func(cfg *httpapi.Config) {
		cfg.Policy = httpapi.Policy{ContentionAttempts: 10, ContentionBase: 20 * time.Millisecond, ContentionMax: 80 * time.Millisecond}
	})
	put := &httpapi.Request{Method: http.MethodPut, Path: "contacts/1", Body: []byte(`{}`), Repeatable: true}
	_, err := c.Do(context.Background(), put)
	if httpapi.IsTransient(err) || httpapi.KindOfError(err) != httpapi.Other || srv.n.Load() != 1 || c.ContentionSignals() != 0 {
		t.Errorf("unmarked 500: %v after %d requests, %d signals; want one attempt, not transient", err, srv.n.Load(), c.ContentionSignals())
	}

	srv.n.Store(0)
	put.Retry500 = true
	_, err = c.Do(context.Background(), put)
	if !httpapi.IsTransient(err) || srv.n.Load() != 10 || c.ContentionSignals() != 10 {
		t.Errorf("marked 500: %v after %d requests, %d signals; want 10 attempts", err, srv.n.Load(), c.ContentionSignals())
	}
	for _, d := range w.get() {
		if d > 80*time.Millisecond {
			t.Errorf("wait %v beyond the contention maximum", d)
		}
	}
}

// TestNotRepeatable: a request that is not safe to repeat is sent once;
// with Recover it is sent again only when Recover found no effect, and
// Recover's answer ends it when it did.
func TestNotRepeatable(t *testing.T) {
	srv := newServer(t, answer{status: 502})
	c, w := newClient(t, srv.URL, nil)
	post := &httpapi.Request{Method: http.MethodPost, Path: "things/", Body: []byte(`{}`)}
	if _, err := c.Do(context.Background(), post); !httpapi.IsTransient(err) || srv.n.Load() != 1 || len(w.get()) != 0 {
		t.Errorf("POST: %v after %d requests; want one", err, srv.n.Load())
	}

	srv = newServer(t, answer{status: 503}, answer{status: 503}, answer{status: 201, message: "made"})
	c, _ = newClient(t, srv.URL, nil)
	looked := 0
	post.Recover = func(context.Context) (*httpapi.Response, error) { looked++; return nil, nil }
	res, err := c.Do(context.Background(), post)
	if err != nil || res.Status != 201 || srv.n.Load() != 3 || looked != 2 {
		t.Errorf("POST with Recover finding nothing: %v, %v after %d requests, %d lookups", res, err, srv.n.Load(), looked)
	}

	srv = newServer(t, answer{status: 504})
	c, _ = newClient(t, srv.URL, nil)
	post.Recover = func(context.Context) (*httpapi.Response, error) {
		return &httpapi.Response{Status: 201, Body: []byte("found")}, nil
	}
	res, err = c.Do(context.Background(), post)
	if err != nil || string(res.Body) != "found" || srv.n.Load() != 1 {
		t.Errorf("POST with Recover finding it: %v, %v after %d requests", res, err, srv.n.Load())
	}

	post.Recover = func(context.Context) (*httpapi.Response, error) { return nil, errors.New("search failed") }
	_, err = c.Do(context.Background(), post)
	if !httpapi.IsTransient(err) || !strings.Contains(err.Error(), "search failed") {
		t.Errorf("POST with a failing Recover: %v", err)
	}
}

// TestCancel: the caller's cancellation stops the retries, also while
// waiting, and is not transient.
func TestCancel(t *testing.T) {
	srv := newServer(t, answer{status: 503})
	ctx, cancel := context.WithCancel(context.Background())
	c := httpapi.New(httpapi.Config{Target: "test", BaseURL: srv.URL + "/", Policy: httpapi.Policy{Base: time.Hour, Max: time.Hour}})
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err := c.Do(ctx, get("x"))
	if !errors.Is(err, context.Canceled) || httpapi.IsTransient(err) || httpapi.StatusOf(err) != 503 {
		t.Errorf("error %v, want the 503 and context.Canceled, not transient", err)
	}
	if time.Since(start) > 10*time.Second || srv.n.Load() != 1 {
		t.Errorf("%d requests in %v", srv.n.Load(), time.Since(start))
	}

	// Cancelled before the request.
	srv.n.Store(0)
	_, err = c.Do(ctx, get("x"))
	if !errors.Is(err, context.Canceled) || httpapi.IsTransient(err) || srv.n.Load() != 0 {
		t.Errorf("error %v after %d requests", err, srv.n.Load())
	}
}

// TestTimeout: the per-request timeout is a transient failure, retried.
func TestTimeout(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) <= 2 {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
			return
		}
		w.Write([]byte("{}"))
	}))
	t.Cleanup(srv.Close)
	c, w := newClient(t, srv.URL, func(cfg *httpapi.Config) { cfg.Timeout = 50 * time.Millisecond })
	if _, err := c.Do(context.Background(), get("slow")); err != nil || n.Load() != 3 || len(w.get()) != 2 {
		t.Errorf("error %v after %d requests", err, n.Load())
	}
	c, _ = newClient(t, srv.URL, func(cfg *httpapi.Config) { cfg.Timeout = 50 * time.Millisecond; cfg.Policy.Attempts = 1 })
	n.Store(0)
	_, err := c.Do(context.Background(), get("slow"))
	if !httpapi.IsTransient(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v, want a transient timeout", err)
	}
}

// TestTransportFailures: a refused connection and one closed without an
// answer are transient.
func TestTransportFailures(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c, w := newClient(t, "http://"+addr, nil)
	if _, err := c.Do(context.Background(), get("x")); !httpapi.IsTransient(err) || len(w.get()) != 4 || !strings.Contains(err.Error(), "refused") {
		t.Errorf("refused: %v after %d waits", err, len(w.get()))
	}

	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return
		}
		w.Write([]byte("{}"))
	}))
	t.Cleanup(srv.Close)
	c, _ = newClient(t, srv.URL, nil)
	if _, err := c.Do(context.Background(), get("x")); err != nil || n.Load() != 2 {
		t.Errorf("dropped: %v after %d requests", err, n.Load())
	}
}

// TestConsumeStartsOver: a connection that breaks in the middle of a
// streamed answer is retried, and Consume reads the whole answer again.
func TestConsumeStartsOver(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			conn, buf, _ := w.(http.Hijacker).Hijack()
			fmt.Fprint(buf, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\nline 1\nline")
			buf.Flush()
			conn.Close()
			return
		}
		w.Write([]byte("line 1\nline 2\n"))
	}))
	t.Cleanup(srv.Close)
	c, _ := newClient(t, srv.URL, nil)
	var lines []string
	res, err := c.Do(context.Background(), &httpapi.Request{Method: http.MethodGet, Path: "list", Repeatable: true,
		Consume: func(_ http.Header, r io.Reader) error {
			lines = nil
			sc := bufio.NewScanner(r)
			for sc.Scan() {
				lines = append(lines, sc.Text())
			}
			return sc.Err()
		}})
	if err != nil || res.Body != nil || n.Load() != 2 {
		t.Fatalf("error %v after %d requests", err, n.Load())
	}
	if diff := cmp.Diff([]string{"line 1", "line 2"}, lines); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}

	// A Consume error that is not a broken connection is not retried.
	n.Store(1)
	_, err = c.Do(context.Background(), &httpapi.Request{Method: http.MethodGet, Path: "list", Repeatable: true,
		Consume: func(http.Header, io.Reader) error { return errors.New("not a list") }})
	if err == nil || httpapi.IsTransient(err) || n.Load() != 2 || err.Error() != "test: GET list: read answer: not a list" {
		t.Errorf("error %v after %d requests", err, n.Load()-1)
	}
}

// TestLoginRetriedWithFreshBody: a login is safe to repeat; a 503 on it
// is retried, and NewBody makes each attempt's body (a fresh one-time
// code).
func TestLoginRetriedWithFreshBody(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		n := len(bodies)
		mu.Unlock()
		if r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("Content-Type %q", r.Header.Get("Content-Type"))
		}
		if n <= 2 {
			w.WriteHeader(503)
		}
	}))
	t.Cleanup(srv.Close)
	c, _ := newClient(t, srv.URL, nil)
	code := 0
	_, err := c.Do(context.Background(), &httpapi.Request{Method: http.MethodPost, Path: "login/", Repeatable: true,
		NewBody: func() []byte { code++; return fmt.Appendf(nil, `{"token":"%d"}`, code) }})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{`{"token":"1"}`, `{"token":"2"}`, `{"token":"3"}`}, bodies); diff != "" {
		t.Errorf("login bodies (-want +got):\n%s", diff)
	}
	if got := c.ContentionSignals(); got != 2 {
		t.Errorf("ContentionSignals = %d, want 2", got)
	}
}

// TestKinds: each status has its kind, and the target's explanation and
// hint go into the message.
func TestKinds(t *testing.T) {
	for status, want := range map[int]httpapi.Kind{
		400: httpapi.Validation, 401: httpapi.Permission, 403: httpapi.Permission, 404: httpapi.NotFound,
		409: httpapi.Conflict, 412: httpapi.Conflict, 422: httpapi.Validation, 429: httpapi.Transient,
		500: httpapi.Other, 502: httpapi.Transient, 503: httpapi.Transient, 504: httpapi.Transient, 302: httpapi.Other, 406: httpapi.Other,
	} {
		if got := httpapi.KindOf(status, false); got != want {
			t.Errorf("KindOf(%d) = %v, want %v", status, got, want)
		}
	}
	srv := newServer(t, answer{status: 401, message: "nope"})
	c, _ := newClient(t, srv.URL, func(cfg *httpapi.Config) {
		cfg.Explain = func(e *httpapi.Error, _ http.Header, body []byte) {
			e.Message = "the server rejected the credentials (it said: " + httpapi.ServerMessage(body) + ")"
			e.Hint = "check target.test.password"
		}
	})
	_, err := c.Do(context.Background(), get("me"))
	if want := "test: GET me: the server rejected the credentials (it said: nope); check target.test.password (HTTP 401)"; err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
	if !httpapi.IsPermission(err) || httpapi.As(err).Attempts != 1 {
		t.Errorf("error %#v", err)
	}
	e := &httpapi.Error{Target: "udm", Method: "POST", Path: "users/user/", Status: 422, Message: "Invalid",
		Fields: map[string]string{"username": "Object exists", "dn": "Object exists"}}
	if want := "udm: POST users/user/: dn: Object exists; username: Object exists (HTTP 422)"; e.Error() != want {
		t.Errorf("Error() = %q, want %q", e.Error(), want)
	}
}

// TestTimeoutBoundsSilence: the timeout bounds each silence of the
// server, not a long answer that keeps arriving; a body that stops
// arriving for longer fails the attempt as a transient timeout.
func TestTimeoutBoundsSilence(t *testing.T) {
	const parts = 8
	stall := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("["))
		for i := range parts {
			w.(http.Flusher).Flush()
			time.Sleep(30 * time.Millisecond) // each gap well under the timeout; the sum well over it
			if i > 0 {
				w.Write([]byte(","))
			}
			w.Write([]byte("1"))
			if r.URL.Path == "/stalls" && i == parts/2 {
				w.(http.Flusher).Flush()
				select {
				case <-stall:
				case <-r.Context().Done():
				}
				return
			}
		}
		w.Write([]byte("]"))
	}))
	t.Cleanup(func() { close(stall); srv.Close() })
	c, _ := newClient(t, srv.URL, func(cfg *httpapi.Config) { cfg.Timeout = 100 * time.Millisecond; cfg.Policy.Attempts = 1 })
	res, err := c.Do(context.Background(), get("steady"))
	if err != nil || strings.Count(string(res.Body), "1") != parts {
		t.Fatalf("a body arriving for %d×30ms under a 100ms timeout: %v", parts, err)
	}
	_, err = c.Do(context.Background(), get("stalls"))
	if !httpapi.IsTransient(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a body that stops arriving: error %v, want a transient timeout", err)
	}
}
