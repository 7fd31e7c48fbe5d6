package httpapi_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/ldapply/ldapply/apply"
	"github.com/ldapply/ldapply/providers/httpapi"
)

var _ apply.Contended = (*httpapi.Error)(nil)

// TestContended: only a marked serialization failure, a 429 and a 503,
// once the attempts are used up, say that the server refused a request
// for other work in flight; apply sends such a change again alone.
func TestContended(t *testing.T) {
	for _, tc := range []struct {
		status   int
		retry500 bool
		want     bool
	}{
		{http.StatusInternalServerError, true, true},
		{http.StatusInternalServerError, false, false},
		{http.StatusTooManyRequests, false, true},
		{http.StatusServiceUnavailable, false, true},
		{http.StatusBadGateway, false, false},
		{http.StatusUnprocessableEntity, false, false},
	} {
		srv := newServer(t, answer{status: tc.status, message: "no"})
		c, _ := newClient(t, srv.URL, func(cfg *httpapi.Config) { cfg.Policy.Attempts, cfg.Policy.ContentionAttempts = 2, 2 })
		_, err := c.Do(context.Background(), &httpapi.Request{Method: http.MethodPut, Path: "x", Body: []byte("{}"), Repeatable: true, Retry500: tc.retry500})
		if got := httpapi.As(err).Contended(); got != tc.want {
			t.Errorf("HTTP %d (500 marked transient: %v): Contended() = %v, want %v", tc.status, tc.retry500, got, tc.want)
		}
	}
}
