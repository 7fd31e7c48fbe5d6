package udm_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ldapply/ldapply/fixtures/udmsim"
	"github.com/ldapply/ldapply/providers/udm"
)

// TestCreateRetriedAfterLookup: a create is not safe to repeat, so after
// a transient failure the client first looks for the object by its key
// property: a lost answer gives the object's DN without a second POST,
// a failure before the write sends the POST again, and without a key
// property the POST is not repeated at all.
func TestCreateRetriedAfterLookup(t *testing.T) {
	sim, url := udmsim.Start(t, udmsim.Options{Users: map[string]string{"svc": "pw"}})
	ctx := context.Background()
	pos := "cn=users," + sim.Base()
	keyed, err := udm.NewClient(udm.ClientConfig{URL: url, Username: "svc", Password: "pw",
		KeyProperties: map[string]string{udm.TypeUser: "univentionObjectIdentifier"}})
	if err != nil {
		t.Fatal(err)
	}
	body := func(name string) []byte {
		return []byte(`{"position":"` + pos + `","properties":{"username":"` + name + `","lastname":"L","password":"long-enough-1","univentionObjectIdentifier":"key-` + name + `"}}`)
	}
	posts := func() (n int) {
		for _, r := range sim.Requests() {
			if r.Method == "POST" {
				n++
			}
		}
		return n
	}

	// The answer is lost after the write: one POST, then a search finds it.
	sim.Inject(udmsim.Fault{Method: "POST", Path: udmsim.Users, Status: 502, AfterWrite: true, Count: 1})
	dn, err := keyed.Create(ctx, udm.TypeUser, body("lost"))
	if err != nil || dn != "uid=lost,"+pos {
		t.Fatalf("Create after a lost answer: %q, %v", dn, err)
	}
	if n := posts(); n != 1 {
		t.Errorf("%d POSTs, want 1 (the lookup found the object)", n)
	}

	// Refused before the write: the lookup finds nothing, the POST is sent again.
	sim.Inject(udmsim.Fault{Method: "POST", Path: udmsim.Users, Status: 503, RetryAfter: "0", Count: 2})
	dn, err = keyed.Create(ctx, udm.TypeUser, body("later"))
	if err != nil || dn != "uid=later,"+pos {
		t.Fatalf("Create after two 503: %q, %v", dn, err)
	}
	if n := posts(); n != 4 {
		t.Errorf("%d POSTs, want 4", n)
	}
	if got := keyed.ContentionSignals(); got != 2 {
		t.Errorf("ContentionSignals = %d, want 2 (the two 503)", got)
	}

	// No key property: the create is not repeated.
	plain, _ := udm.NewClient(udm.ClientConfig{URL: url, Username: "svc", Password: "pw"})
	sim.Inject(udmsim.Fault{Method: "POST", Path: udmsim.Users, Status: 503, RetryAfter: "0", Count: 1})
	_, err = plain.Create(ctx, udm.TypeUser, body("once"))
	if !udm.IsTransient(err) || strings.Contains(err.Error(), "gave up") {
		t.Errorf("Create without a key property: %v, want one transient failure", err)
	}
	if n := posts(); n != 5 {
		t.Errorf("%d POSTs, want 5", n)
	}
	if n := len(sim.Objects(udmsim.Users)); n != 2 {
		t.Errorf("%d users, want 2", n)
	}
}

// TestTimeoutSetting: timeout is read_timeout under the name every target
// uses; both at once must agree.
func TestTimeoutSetting(t *testing.T) {
	base := udm.Config{URL: "https://ucs.example.com/univention/udm/", Username: "svc", Password: "pw", UserOU: "cn=u,dc=x", GroupOU: "cn=g,dc=x"}
	c := base
	c.Timeout = 90 * time.Second
	if err := c.Resolve("inetorgperson"); err != nil || c.ReadTimeout != 90*time.Second {
		t.Errorf("timeout 90s: read_timeout %v, %v", c.ReadTimeout, err)
	}
	c = base
	c.ReadTimeout = 60 * time.Second
	if err := c.Resolve("inetorgperson"); err != nil || c.Timeout != 60*time.Second {
		t.Errorf("read_timeout 60s: timeout %v, %v", c.Timeout, err)
	}
	c = base
	c.Timeout, c.ReadTimeout = 60*time.Second, 90*time.Second
	if err := c.Resolve("inetorgperson"); err == nil || !strings.Contains(err.Error(), "set only one") {
		t.Errorf("both set: %v", err)
	}
}
