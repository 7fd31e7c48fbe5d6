package httpapi

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

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
		{"httpapi.Transport", Transport(), 10, 10},
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
