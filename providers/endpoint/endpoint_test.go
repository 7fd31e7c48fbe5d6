package endpoint

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestResolve(t *testing.T) {
	file := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(file, []byte("from-file\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const key, ex = "target.x", "https://x.example.com/api"
	for _, tc := range []struct {
		url, user, pw, file string
		want, wantPW        string
	}{
		{"", "u", "p", "", "target.x.url is required, e.g. https://x.example.com/api", ""},
		{"ftp://x", "u", "p", "", `target.x.url "ftp://x" is not an http(s) URL`, ""},
		{"https://x", "", "p", "", "target.x.username is required", ""},
		{"https://x", "u", "p", file, "target.x: set password or password_file, not both", ""},
		{"https://x", "u", "", file + ".missing", "target.x.password_file: open " + file + ".missing: no such file or directory", ""},
		{"https://x", "u", "", "", "target.x.password (or password_file) is required", ""},
		{"https://x", "u", "", file, "", "from-file"},
		{"http://x", "u", "inline", "", "", "inline"},
	} {
		pw := tc.pw
		err := Resolve(key, ex, tc.url, tc.user, &pw, tc.file)
		if got := ""; err != nil {
			got = err.Error()
			if got != tc.want {
				t.Errorf("%+v: error %q, want %q", tc, got, tc.want)
			}
		} else if tc.want != "" || pw != tc.wantPW {
			t.Errorf("%+v: no error, password %q; want error %q, password %q", tc, pw, tc.want, tc.wantPW)
		}
	}
}

// TestTransportReusesConnections: rounds of ten requests at once (apply's
// default parallelism) reuse their connections instead of dialling anew;
// Go's default transport dialled eight per round.
func TestTransportReusesConnections(t *testing.T) {
	var dialled, waiting atomic.Int32
	var mu sync.Mutex
	release := make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Each answer waits until all ten of its round are in flight.
		mu.Lock()
		gate := release
		mu.Unlock()
		waiting.Add(1)
		<-gate
		io.WriteString(w, "ok")
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			dialled.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	for _, tc := range []struct {
		name            string
		tr              *http.Transport
		atLeast, atMost int32
	}{
		{"endpoint.Transport", Transport(), 10, 10},
		{"Go's default", http.DefaultTransport.(*http.Transport).Clone(), 10 + 9*8, 100},
	} {
		dialled.Store(0)
		client := &http.Client{Transport: tc.tr}
		for range 10 {
			waiting.Store(0)
			var wg sync.WaitGroup
			for range 10 {
				wg.Go(func() {
					res, err := client.Get(srv.URL)
					if err != nil {
						t.Error(err)
						return
					}
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
				})
			}
			for waiting.Load() < 10 {
				time.Sleep(time.Millisecond)
			}
			mu.Lock()
			close(release)
			release = make(chan struct{})
			mu.Unlock()
			wg.Wait()
		}
		tc.tr.CloseIdleConnections()
		if n := dialled.Load(); n < tc.atLeast || n > tc.atMost {
			t.Errorf("%s: 10 rounds of 10 requests at once dialled %d connections, want %d to %d", tc.name, n, tc.atLeast, tc.atMost)
		}
	}
}
