package udm_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/ldapply/ldapply/fixtures/udmsim"
	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/providers"
	"github.com/ldapply/ldapply/providers/udm"
)

func TestResolve(t *testing.T) {
	base := func() udm.Config {
		return udm.Config{URL: "https://ucs.example.com/univention/udm/", Username: "svc", Password: "pw",
			UserOU: "cn=u,dc=x", GroupOU: "cn=g,dc=x"}
	}
	c := base()
	if err := c.Resolve("ad"); err != nil {
		t.Fatal(err)
	}
	if c.UserKeyProperty != udm.DefaultKeyProperty || c.ConnectTimeout != udm.DefaultConnectTimeout ||
		c.ReadTimeout != udm.DefaultReadTimeout || c.UserProperties["username"] != "{{ .sAMAccountName }}" {
		t.Errorf("defaults: %+v", c)
	}
	for name, tc := range map[string]struct {
		mod  func(*udm.Config)
		want string
	}{
		"no url":      {func(c *udm.Config) { c.URL = "" }, "url is required"},
		"no ou":       {func(c *udm.Config) { c.GroupOU = "" }, "group_ou are required"},
		"no username": {func(c *udm.Config) { c.UserProperties = map[string]string{"lastname": "x"} }, "user_properties.username is required"},
		"members":     {func(c *udm.Config) { c.GroupProperties = map[string]string{"name": "x", "users": "y"} }, "group_properties.users"},
		"password":    {func(c *udm.Config) { c.GroupProperties = map[string]string{"name": "x", "password": "y"} }, "group_properties.password"},
		"key property": {func(c *udm.Config) {
			c.UserProperties = map[string]string{"username": "x", "univentionObjectIdentifier": "y"}
		}, "key property"},
		"bad template": {func(c *udm.Config) { c.GroupProperties = map[string]string{"name": "{{ .cn"} }, "group_properties.name"},
	} {
		c := base()
		tc.mod(&c)
		if err := c.Resolve("inetorgperson"); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
}

func TestClientAgainstSimulator(t *testing.T) {
	sim, url := udmsim.Start(t, udmsim.Options{Users: map[string]string{"svc": "pw"}})
	ctx := context.Background()
	c, err := udm.NewClient(udm.ClientConfig{URL: url, Username: "svc", Password: "pw", Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	pos := "cn=users," + sim.Base()
	dn, err := c.Create(ctx, udm.TypeUser, []byte(`{"position":"`+pos+`","properties":{"username":"a+b,c","lastname":"L","password":"long-enough-1"}}`))
	if err != nil || dn != `uid=a\+b\,c,`+pos {
		t.Fatalf("create: %q %v", dn, err)
	}
	obj, etag, err := c.Get(ctx, udm.TypeUser, dn)
	if err != nil || obj.DN() != dn || etag == "" {
		t.Fatalf("get: %v %q %v", obj, etag, err)
	}
	body, _ := json.Marshal(map[string]any{"position": pos, "properties": map[string]any{"firstname": "F"}})
	if err := c.Put(ctx, udm.TypeUser, dn, body, `"stale"`); !udm.IsPrecondition(err) {
		t.Errorf("stale put: %v", err)
	}
	if err := c.Put(ctx, udm.TypeUser, dn, body, etag); err != nil {
		t.Errorf("put: %v", err)
	}
	_, err = c.Create(ctx, udm.TypeUser, []byte(`{"position":"`+pos+`","properties":{"username":"A+B,C","lastname":"L","password":"long-enough-1"}}`))
	var ae *udm.APIError
	if !errors.As(err, &ae) || ae.Status != 422 || !strings.Contains(err.Error(), "username: Object exists") {
		t.Errorf("duplicate: %v", err)
	}
	objs, err := c.Search(ctx, udm.TypeUser, pos)
	if err != nil || len(objs) != 1 {
		t.Errorf("search: %d %v", len(objs), err)
	}
	if err := c.Delete(ctx, udm.TypeUser, dn); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, udm.TypeUser, dn); !udm.IsNotFound(err) {
		t.Errorf("delete again: %v", err)
	}
	bad, _ := udm.NewClient(udm.ClientConfig{URL: url, Username: "svc", Password: "wrong", Retries: -1})
	if _, err := bad.Search(ctx, udm.TypeUser, pos); !udm.IsPermission(err) {
		t.Errorf("wrong password: %v", err)
	}
	sim.Inject(udmsim.Fault{Method: "GET", Status: 503, RetryAfter: "0", Count: 1})
	retrying, _ := udm.NewClient(udm.ClientConfig{URL: url, Username: "svc", Password: "pw"})
	if _, err := retrying.Search(ctx, udm.TypeUser, pos); err != nil {
		t.Errorf("a 503 was not retried: %v", err)
	}
}

// TestPlanConflictUnmanagedName: a UCS object with the username of a
// source user but without its key blocks the plan with a clear message.
func TestPlanConflictUnmanagedName(t *testing.T) {
	sim, url := udmsim.Start(t, udmsim.Options{Users: map[string]string{"svc": "pw"}})
	sim.Seed(udmsim.Users, "cn=u,"+sim.Base(), map[string]any{"username": "alice", "lastname": "A"})
	cfg := udm.Config{URL: url, AllowInsecure: true, Username: "svc", Password: "pw", UserOU: "cn=u," + sim.Base(), GroupOU: "cn=g," + sim.Base()}
	if err := cfg.Resolve("inetorgperson"); err != nil {
		t.Fatal(err)
	}
	p, err := udm.New(cfg, providers.Env{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	dir := &plan.Directory{Users: []*plan.Entry{{DN: "uid=alice,o=src", NormDN: "uid=alice,o=src", Key: "k1", Attrs: map[string][]string{"uid": {"alice"}, "sn": {"A"}}}}}
	_, err = p.Plan(context.Background(), dir, plan.Bindings{})
	if err == nil || !strings.Contains(err.Error(), "ldapply does not manage") {
		t.Errorf("plan: %v", err)
	}
}
