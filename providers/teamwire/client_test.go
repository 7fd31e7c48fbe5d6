package teamwire_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ldapply/ldapply/fixtures/teamwiresim"
	"github.com/ldapply/ldapply/providers/ldap"
	"github.com/ldapply/ldapply/providers/teamwire"
)

// TestLoginRetried: a login goes through the same retry policy as every
// request: a 503 on the first login and on the login after an expired
// session is retried, and both count as contention.
func TestLoginRetried(t *testing.T) {
	ctx := context.Background()
	sim, url := newSim(t)
	c := client(t, url, superEmail, superPW, "")

	sim.Inject(teamwiresim.Fault{Method: "POST", Path: "login/", Count: 2, Status: 503})
	if _, err := c.GetSettings(ctx, "12"); err != nil {
		t.Fatalf("GetSettings after two 503 on login: %v", err)
	}
	if n := sim.CountCalls("POST", "login/"); n != 3 {
		t.Errorf("%d logins sent, want 3", n)
	}

	sim.ExpireSessions()
	sim.Inject(teamwiresim.Fault{Method: "POST", Path: "login/", Count: 1, Status: 503})
	if _, err := c.GetStatus(ctx, "12", 0); err != nil {
		t.Fatalf("GetStatus after an expired session and a 503 on login: %v", err)
	}
	if c.Logins() != 2 {
		t.Errorf("logins = %d, want 2", c.Logins())
	}
	if got := c.ContentionSignals(); got != 3 {
		t.Errorf("ContentionSignals = %d, want 3", got)
	}
}

// TestTimeoutSetting: timeout defaults to 30s and must be positive.
func TestTimeoutSetting(t *testing.T) {
	cfg := teamwire.Config{URL: "https://teamwire.example.com/admin-api", Email: superEmail, Password: superPW}
	if err := cfg.Resolve("inetorgperson"); err != nil || time.Duration(cfg.Timeout) != teamwire.DefaultTimeout {
		t.Errorf("default timeout %v, %v", cfg.Timeout, err)
	}
	cfg.Timeout = ldap.Duration(-time.Second)
	if err := cfg.Resolve("inetorgperson"); err == nil || !strings.Contains(err.Error(), "target.teamwire.timeout") {
		t.Errorf("negative timeout: %v", err)
	}
}
