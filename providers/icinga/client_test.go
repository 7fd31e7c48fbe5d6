package icinga

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ldapply/ldapply/fixtures/icingasim"
)

const (
	clientTestC1 = "0a000000-0000-4000-8000-000000000001"
	clientTestG1 = "0b000000-0000-4000-8000-000000000001"
	clientTestPw = "s3cret-Passw0rd"
)

// clientSleepLog records the waits of a client instead of sleeping.
type clientSleepLog struct {
	mu     sync.Mutex
	delays []time.Duration
}

func (l *clientSleepLog) sleep(ctx context.Context, d time.Duration) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.delays = append(l.delays, d)
	return ctx.Err()
}

func (l *clientSleepLog) get() []time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]time.Duration(nil), l.delays...)
}

// newSimTestClient returns a client of url whose retry waits are recorded,
// not slept.
func newSimTestClient(t *testing.T, cfg ClientConfig) (*Client, *clientSleepLog) {
	t.Helper()
	if cfg.Username == "" {
		cfg.Username, cfg.Password = "icinga", "icinga"
	}
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l := &clientSleepLog{}
	c.sleep = l.sleep
	return c, l
}

func clientTestContact(id, extra string) []byte {
	return fmt.Appendf(nil, `{"id":%q,"full_name":"Jane","default_channel":%q,"addresses":{"email":"jane@example.com"}%s}`, id, icingasim.DefaultChannelID, extra)
}

func TestClientRoundTrip(t *testing.T) {
	srv, base := icingasim.Start(t, icingasim.Options{})
	c, _ := newSimTestClient(t, ClientConfig{URL: base + "/"})
	ctx := context.Background()

	chans, err := c.Channels(ctx)
	if err != nil || len(chans) != 1 || chans[0].ID != icingasim.DefaultChannelID || chans[0].Type != "email" || chans[0].Config[0] != '{' {
		t.Fatalf("Channels: %+v, %v", chans, err)
	}
	for i, want := range []bool{true, false} {
		created, err := c.PutContact(ctx, clientTestContact(clientTestC1, `,"username":"jane"`))
		if err != nil || created != want {
			t.Fatalf("PutContact #%d: created %v, %v; want %v", i, created, err, want)
		}
	}
	created, err := c.PutGroup(ctx, fmt.Appendf(nil, `{"id":%q,"name":"Ops","users":[%q]}`, clientTestG1, clientTestC1))
	if err != nil || !created {
		t.Fatalf("PutGroup: %v, %v", created, err)
	}

	contacts, err := c.Contacts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	jane := "jane"
	wantContacts := []Contact{{ID: clientTestC1, FullName: "Jane", Username: &jane, DefaultChannel: icingasim.DefaultChannelID,
		Groups: []string{clientTestG1}, Addresses: map[string]string{"email": "jane@example.com"}}}
	if diff := cmp.Diff(wantContacts, contacts); diff != "" {
		t.Errorf("Contacts (-want +got):\n%s", diff)
	}
	groups, err := c.Groups(ctx)
	if diff := cmp.Diff([]Group{{ID: clientTestG1, Name: "Ops", Users: []string{clientTestC1}}}, groups); err != nil || diff != "" {
		t.Errorf("Groups: %v (-want +got):\n%s", err, diff)
	}

	if err := c.DeleteContact(ctx, clientTestC1); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteContact(ctx, clientTestC1); !IsNotFound(err) || !strings.Contains(err.Error(), "Contact not found") {
		t.Errorf("second DeleteContact: %v, want a not-found error", err)
	}
	groups, _ = c.Groups(ctx)
	if len(groups) != 1 || len(groups[0].Users) != 0 {
		t.Errorf("groups after delete: %+v", groups)
	}
	if err := c.DeleteGroup(ctx, clientTestG1); err != nil {
		t.Fatal(err)
	}
	var ae *APIError
	if err := c.DeleteGroup(ctx, clientTestG1); !errors.As(err, &ae) || ae.Status != 404 || ae.Message != "Contact Group not found" || ae.Method != "DELETE" || ae.Path != "contact-groups/"+clientTestG1 {
		t.Errorf("second DeleteGroup: %#v", err)
	}
	for _, r := range srv.Requests() {
		if strings.Contains(r.Path, "//") {
			t.Errorf("trailing slash not trimmed: %s", r.Path)
		}
	}
}

func TestClientAPIErrorNotRetried(t *testing.T) {
	srv, base := icingasim.Start(t, icingasim.Options{})
	c, sleeps := newSimTestClient(t, ClientConfig{URL: base})
	_, err := c.PutContact(context.Background(), clientTestContact(clientTestC1, `,"groups":["`+clientTestG1+`"]`))
	want := "icinga: PUT contacts/" + clientTestC1 + ": Contact Group with identifier " + clientTestG1 + " does not exist (HTTP 422)"
	if err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
	if IsTransient(err) || IsNotFound(err) || IsPermission(err) {
		t.Errorf("422 misclassified: %v", err)
	}
	if n := len(srv.Requests()); n != 1 || len(sleeps.get()) != 0 {
		t.Errorf("%d requests, %d sleeps; want no retry", n, len(sleeps.get()))
	}
}

func TestClientAuthErrors(t *testing.T) {
	srv, base := icingasim.Start(t, icingasim.Options{
		Users:       map[string]string{"icinga": "other"},
		NoPermUsers: map[string]string{"viewer": clientTestPw},
	})
	tests := []struct {
		name, user string
		want       []string
	}{
		{"401", "icinga", []string{"Icinga rejected the credentials for user icinga; check target.icinga.username and password", "HTTP 401"}},
		{"403", "viewer", []string{"notifications/api", "viewer", "HTTP 403"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.ResetRequests()
			c, _ := newSimTestClient(t, ClientConfig{URL: base, Username: tt.user, Password: clientTestPw})
			_, err := c.Contacts(context.Background())
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), clientTestPw) {
				t.Errorf("error shows the password: %v", err)
			}
			if !IsPermission(err) || IsTransient(err) {
				t.Errorf("misclassified: %v", err)
			}
			if n := len(srv.Requests()); n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
		})
	}
}

func TestClientRedirect(t *testing.T) {
	// The simulator itself, behind a proxy that rewrites Accept.
	sim := icingasim.New(icingasim.Options{})
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Header.Set("Accept", "application/json, */*")
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	c, _ := newSimTestClient(t, ClientConfig{URL: proxy.URL + icingasim.BasePath})
	_, err := c.Groups(context.Background())
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusFound || !strings.Contains(ae.Message, "redirected to its login page") || !strings.Contains(ae.Message, "Accept") {
		t.Errorf("error %v", err)
	}
	if n := len(sim.Requests()); n != 1 {
		t.Errorf("%d requests reached the simulator, want 1 (redirect not followed)", n)
	}

	// A URL that is not the API at all.
	var loginHits int
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/icingaweb2/authentication/login") {
			loginHits++
			w.Write([]byte("<html>login</html>"))
			return
		}
		http.Redirect(w, r, "/icingaweb2/authentication/login?redirect=x", http.StatusFound)
	}))
	t.Cleanup(other.Close)
	c, _ = newSimTestClient(t, ClientConfig{URL: other.URL + "/icingaweb2"})
	if _, err := c.Contacts(context.Background()); err == nil || !strings.Contains(err.Error(), "login page") || loginHits != 0 {
		t.Errorf("error %v, login page fetched %d times", err, loginHits)
	}
}

func TestClientRetries(t *testing.T) {
	tests := []struct {
		name   string
		fault  icingasim.Fault
		reqs   int             // requests the server sees
		delays []time.Duration // exact waits, when Retry-After rules them
	}{
		{"503", icingasim.Fault{Status: 503, Count: 2}, 3, nil},
		{"502", icingasim.Fault{Status: 502, Count: 1}, 2, nil},
		{"504", icingasim.Fault{Status: 504, Count: 1}, 2, nil},
		{"429 retry-after", icingasim.Fault{Status: 429, Count: 2, RetryAfter: "2"}, 3, []time.Duration{2 * time.Second, 2 * time.Second}},
		{"retry-after capped", icingasim.Fault{Status: 503, Count: 1, RetryAfter: "3600"}, 2, []time.Duration{60 * time.Second}},
		{"dropped connection", icingasim.Fault{Drop: true, Count: 2}, 3, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, base := icingasim.Start(t, icingasim.Options{})
			srv.Inject(tt.fault)
			c, sleeps := newSimTestClient(t, ClientConfig{URL: base})
			if _, err := c.Contacts(context.Background()); err != nil {
				t.Fatal(err)
			}
			if n := len(srv.Requests()); n != tt.reqs {
				t.Errorf("%d requests, want %d", n, tt.reqs)
			}
			got := sleeps.get()
			if len(got) != tt.reqs-1 {
				t.Errorf("waits %v, want %d", got, tt.reqs-1)
			}
			if tt.delays != nil {
				if diff := cmp.Diff(tt.delays, got); diff != "" {
					t.Errorf("waits (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestClientRetriesExhausted(t *testing.T) {
	srv, base := icingasim.Start(t, icingasim.Options{})
	srv.Inject(icingasim.Fault{Status: 503, Message: "maintenance"})
	c, sleeps := newSimTestClient(t, ClientConfig{URL: base, Retries: 2})
	err := c.DeleteContact(context.Background(), clientTestC1)
	if !IsTransient(err) || !strings.Contains(err.Error(), "maintenance (HTTP 503) (gave up after 3 attempts)") {
		t.Errorf("error %v", err)
	}
	if n := len(srv.Requests()); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
	d := sleeps.get()
	if len(d) != 2 || d[0] < 100*time.Millisecond || d[0] > 200*time.Millisecond || d[1] < 200*time.Millisecond || d[1] > 400*time.Millisecond {
		t.Errorf("waits %v, want in [100ms,200ms] then [200ms,400ms]", d)
	}

	// Negative Retries means a single attempt.
	srv.ResetRequests()
	c, _ = newSimTestClient(t, ClientConfig{URL: base, Retries: -1})
	if _, err := c.Groups(context.Background()); !IsTransient(err) || len(srv.Requests()) != 1 {
		t.Errorf("error %v after %d requests", err, len(srv.Requests()))
	}
}

func TestClientLostAck(t *testing.T) {
	// The PUT is applied but its answer is lost; the retry finds the
	// contact and the outcome is an update.
	srv, base := icingasim.Start(t, icingasim.Options{})
	srv.Inject(icingasim.Fault{Method: "PUT", AfterWrite: true, Status: 502, Count: 1})
	c, _ := newSimTestClient(t, ClientConfig{URL: base})
	created, err := c.PutContact(context.Background(), clientTestContact(clientTestC1, ""))
	if err != nil || created {
		t.Errorf("created %v, %v; want an update after the lost answer", created, err)
	}
	if n := len(srv.Contacts()); n != 1 {
		t.Errorf("%d contacts", n)
	}
}

func TestClientTimeoutAndRefused(t *testing.T) {
	srv, base := icingasim.Start(t, icingasim.Options{})
	srv.Inject(icingasim.Fault{Latency: 2 * time.Second})
	c, _ := newSimTestClient(t, ClientConfig{URL: base, Timeout: 50 * time.Millisecond, Retries: 1})
	_, err := c.Contacts(context.Background())
	if !IsTransient(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v, want a transient timeout", err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c, sleeps := newSimTestClient(t, ClientConfig{URL: "http://" + addr + icingasim.BasePath, Retries: 2})
	_, err = c.Channels(context.Background())
	if !IsTransient(err) || len(sleeps.get()) != 2 {
		t.Errorf("error %v after %d waits, want transient after 2", err, len(sleeps.get()))
	}

	// A cancelled context stops retrying and is not transient.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Channels(ctx); !errors.Is(err, context.Canceled) || IsTransient(err) {
		t.Errorf("error %v, want context.Canceled", err)
	}
}

func TestClientLowercaseIDs(t *testing.T) {
	srv, base := icingasim.Start(t, icingasim.Options{})
	c, _ := newSimTestClient(t, ClientConfig{URL: base})
	ctx := context.Background()
	if _, err := c.PutContact(ctx, clientTestContact(clientTestC1, "")); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteContact(ctx, strings.ToUpper(clientTestC1)); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteGroup(ctx, strings.ToUpper(clientTestG1)); !IsNotFound(err) {
		t.Fatal(err)
	}
	want := []icingasim.Request{
		{Method: "PUT", Path: icingasim.BasePath + "/contacts/" + clientTestC1, Status: 201},
		{Method: "DELETE", Path: icingasim.BasePath + "/contacts/" + clientTestC1, Status: 204},
		{Method: "DELETE", Path: icingasim.BasePath + "/contact-groups/" + clientTestG1, Status: 404},
	}
	if diff := cmp.Diff(want, srv.Requests()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}

	// Bodies the client cannot address are refused before any request.
	srv.ResetRequests()
	for _, body := range []string{string(clientTestContact(strings.ToUpper(clientTestC1), "")), `{"full_name":"x"}`, `{"id":5}`, `[`} {
		if _, err := c.PutContact(ctx, []byte(body)); err == nil {
			t.Errorf("PutContact(%s) succeeded", body)
		}
	}
	if err := c.DeleteGroup(ctx, ""); err == nil {
		t.Error("DeleteGroup with an empty id succeeded")
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

func TestClientTLS(t *testing.T) {
	_, base, caPEM := icingasim.StartTLS(t, icingasim.Options{})
	file := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(file, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	for name, cfg := range map[string]ClientConfig{
		"CAPEM":  {URL: base, CAPEM: caPEM},
		"CACert": {URL: base, CACert: file},
	} {
		t.Run(name, func(t *testing.T) {
			c, _ := newSimTestClient(t, cfg)
			if _, err := c.Channels(context.Background()); err != nil {
				t.Fatal(err)
			}
		})
	}
	t.Run("system roots", func(t *testing.T) {
		c, sleeps := newSimTestClient(t, ClientConfig{URL: base})
		_, err := c.Channels(context.Background())
		if err == nil || IsTransient(err) || len(sleeps.get()) != 0 {
			t.Errorf("error %v, want an untrusted-certificate error without retries", err)
		}
	})
}

func TestClientCloseDelimitedAnswer(t *testing.T) {
	// An answer without Content-Length, ended by closing the connection.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept") != "application/json" {
			t.Errorf("Accept %q", r.Header.Values("Accept"))
		}
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n")
		fmt.Fprintf(buf, `{"data":[{"id":%q,"name":"Ops","users":[]}]}`, clientTestG1)
		buf.Flush()
	}))
	t.Cleanup(srv.Close)
	c, _ := newSimTestClient(t, ClientConfig{URL: srv.URL})
	for range 2 {
		groups, err := c.Groups(context.Background())
		if err != nil || len(groups) != 1 || groups[0].Name != "Ops" {
			t.Fatalf("Groups: %+v, %v", groups, err)
		}
	}
}

func TestClientRequestHeaders(t *testing.T) {
	var mu sync.Mutex
	var seen []http.Header
	sim := icingasim.New(icingasim.Options{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Clone())
		mu.Unlock()
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	c, _ := newSimTestClient(t, ClientConfig{URL: srv.URL + icingasim.BasePath, UserAgent: "ldapply/test"})
	if _, err := c.PutContact(context.Background(), clientTestContact(clientTestC1, "")); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteContact(context.Background(), clientTestC1); err != nil {
		t.Fatal(err)
	}
	for i, h := range seen {
		if diff := cmp.Diff([]string{"application/json"}, h.Values("Accept")); diff != "" {
			t.Errorf("request %d Accept (-want +got):\n%s", i, diff)
		}
		if h.Get("User-Agent") != "ldapply/test" {
			t.Errorf("request %d User-Agent %q", i, h.Get("User-Agent"))
		}
	}
	if ct := seen[0].Values("Content-Type"); len(ct) != 1 || ct[0] != "application/json" {
		t.Errorf("PUT Content-Type %q", ct)
	}
	if ct := seen[1].Get("Content-Type"); ct != "" {
		t.Errorf("DELETE Content-Type %q", ct)
	}
}

func TestClientNotJSON(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<html></html>"))
	}))
	t.Cleanup(srv.Close)
	c, _ := newSimTestClient(t, ClientConfig{URL: srv.URL})
	if _, err := c.Contacts(context.Background()); err == nil || !strings.Contains(err.Error(), "not JSON") {
		t.Errorf("error %v", err)
	}
}

func TestNewClientConfig(t *testing.T) {
	for _, cfg := range []ClientConfig{
		{URL: "", Username: "u"},
		{URL: "icinga.example.com/api", Username: "u"},
		{URL: "ftp://icinga.example.com", Username: "u"},
		{URL: "https://icinga.example.com?x=1", Username: "u"},
		{URL: "https://icinga.example.com"},
		{URL: "https://icinga.example.com", Username: "u", CACert: "a.pem", CAPEM: []byte("x")},
		{URL: "https://icinga.example.com", Username: "u", CAPEM: []byte("not pem")},
		{URL: "https://icinga.example.com", Username: "u", CACert: filepath.Join(t.TempDir(), "missing.pem")},
	} {
		if _, err := NewClient(cfg); err == nil {
			t.Errorf("NewClient(%+v) succeeded", cfg)
		}
	}
	c, err := NewClient(ClientConfig{URL: "https://icinga.example.com/icingaweb2/notifications/api/v1/", Username: "u"})
	if err != nil {
		t.Fatal(err)
	}
	if p := c.api.Policy(); c.api.Timeout() != 30*time.Second || p.Attempts != 5 || p.ContentionAttempts != conflictAttempts {
		t.Errorf("defaults: timeout %v, attempts %d, attempts after a serialization failure %d", c.api.Timeout(), p.Attempts, p.ContentionAttempts)
	}
}

func TestClientBackoff(t *testing.T) {
	c, _ := newSimTestClient(t, ClientConfig{URL: "http://127.0.0.1"})
	for attempt, max := range []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, 1600 * time.Millisecond, 3200 * time.Millisecond, 6400 * time.Millisecond, 10 * time.Second, 10 * time.Second} {
		for range 20 {
			if d := c.api.Policy().Backoff(attempt+1, false); d < max/2 || d > max {
				t.Fatalf("backoff(%d) = %v, want in [%v, %v]", attempt, d, max/2, max)
			}
		}
	}
	if d := c.api.Policy().Backoff(100, false); d < 5*time.Second || d > 10*time.Second {
		t.Errorf("backoff(100) = %v", d)
	}
	// A serialization failure is retried sooner, and its waits stay short.
	for attempt, max := range []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, conflictMax, conflictMax} {
		if d := c.api.Policy().Backoff(attempt+1, true); d < max/2 || d > max {
			t.Fatalf("contention backoff(%d) = %v, want in [%v, %v]", attempt+1, d, max/2, max)
		}
	}
}

func TestClientInsecureSkipVerify(t *testing.T) {
	_, base, _ := icingasim.StartTLS(t, icingasim.Options{})
	// Without the CA the certificate does not verify...
	c, _ := newSimTestClient(t, ClientConfig{URL: base, Retries: -1})
	if _, err := c.Channels(context.Background()); err == nil {
		t.Fatal("an unverifiable certificate was accepted")
	}
	// ...unless verification is turned off.
	c, _ = newSimTestClient(t, ClientConfig{URL: base, InsecureSkipVerify: true})
	if _, err := c.Channels(context.Background()); err != nil {
		t.Fatalf("with InsecureSkipVerify: %v", err)
	}
}

// TestClientSerializationFailure: a write's 500 is the serialization
// failure of §8: nothing was stored, so the PUT or DELETE is sent again,
// more patiently than after other transient failures, and each 500 is a
// contention signal. A read's 500 is not retried.
func TestClientSerializationFailure(t *testing.T) {
	srv, base := icingasim.Start(t, icingasim.Options{})
	c, sleeps := newSimTestClient(t, ClientConfig{URL: base})
	ctx := context.Background()

	srv.Inject(icingasim.Fault{Method: "PUT", Status: 500, Count: 7, Message: "An error occurred, please check the log."})
	created, err := c.PutContact(ctx, clientTestContact(clientTestC1, ""))
	if err != nil || !created {
		t.Fatalf("PutContact after 7 serialization failures: %v, %v", created, err)
	}
	if n := len(srv.Requests()); n != 8 {
		t.Errorf("%d requests, want 8", n)
	}
	if got := c.ContentionSignals(); got != 7 {
		t.Errorf("ContentionSignals = %d, want 7", got)
	}
	for i, d := range sleeps.get() {
		if d > conflictMax {
			t.Errorf("wait %d is %v, more than %v", i, d, conflictMax)
		}
	}

	srv.ResetRequests()
	srv.Inject(icingasim.Fault{Method: "DELETE", Status: 500})
	err = c.DeleteContact(ctx, clientTestC1)
	if !IsTransient(err) || !strings.Contains(err.Error(), "(HTTP 500) (gave up after 10 attempts)") {
		t.Errorf("DeleteContact: %v, want a transient 500 after 10 attempts", err)
	}
	if n := len(srv.Requests()); n != conflictAttempts {
		t.Errorf("%d DELETEs, want %d", n, conflictAttempts)
	}

	srv.ResetRequests()
	srv.Inject(icingasim.Fault{Method: "GET", Status: 500, Count: 1})
	if _, err := c.Groups(ctx); IsTransient(err) || !strings.Contains(err.Error(), "(HTTP 500)") {
		t.Errorf("Groups: %v, want a 500 that is not transient", err)
	}
	if n := len(srv.Requests()); n != 1 {
		t.Errorf("%d GETs, want 1 (a read's 500 is not retried)", n)
	}
	if got := c.ContentionSignals(); got != 7+conflictAttempts {
		t.Errorf("ContentionSignals = %d, want %d (a read's 500 is no signal)", got, 7+conflictAttempts)
	}
}

func TestConfigTimeout(t *testing.T) {
	cfg := Config{URL: "https://icinga.example.com/icingaweb2/notifications/api/v1", Username: "u", Password: "p"}
	if err := cfg.Resolve("inetorgperson"); err != nil || cfg.Timeout != defaultTimeout {
		t.Errorf("default timeout %v, %v", cfg.Timeout, err)
	}
	cfg.Timeout = -time.Second
	if err := cfg.Resolve("inetorgperson"); err == nil || !strings.Contains(err.Error(), "target.icinga.timeout") {
		t.Errorf("negative timeout: %v", err)
	}
}
