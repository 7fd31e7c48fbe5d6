package scim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ldapply/ldapply/fixtures/scimserver"
	"github.com/ldapply/ldapply/fixtures/scimsim"
	"github.com/ldapply/ldapply/providers/httpapi"
)

func newClient(t *testing.T, url, token string, pageSize int) *Client {
	t.Helper()
	cfg := Config{URL: url, Token: token, AllowInsecure: true, PageSize: pageSize}
	if err := cfg.Resolve(""); err != nil {
		t.Fatal(err)
	}
	c, err := NewClient(ClientConfig{Config: cfg, Policy: httpapi.Policy{Base: time.Millisecond, Max: 5 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func startSim(t *testing.T, opts scimsim.Options) (*scimsim.Server, *Client) {
	srv, c, _ := startSimURL(t, opts)
	return srv, c
}

func startSimURL(t *testing.T, opts scimsim.Options) (*scimsim.Server, *Client, string) {
	opts.Token = "tok"
	srv, url := scimsim.Start(t, opts)
	return srv, newClient(t, url, "tok", 10), url
}

func TestListPagesShortPages(t *testing.T) {
	srv, c := startSim(t, scimsim.Options{MaxPageSize: 3})
	for i := range 8 {
		srv.Seed(scimsim.User, map[string]any{"userName": fmt.Sprint("u", i), "externalId": fmt.Sprint("k", i)})
	}
	all, err := c.List(context.Background(), Users, ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 8 {
		t.Fatalf("List read %d users, want 8", len(all))
	}
	gets := 0
	for _, r := range srv.Requests() {
		if r.Method == "GET" && r.Path == "Users" {
			gets++
		}
	}
	if gets != 3 {
		t.Errorf("List sent %d GETs for 8 users in pages of 3, want 3", gets)
	}
	one, err := c.List(context.Background(), Users, ListOptions{Filter: `externalId eq "k5"`})
	if err != nil || len(one) != 1 || one[0].str("userName") != "u5" {
		t.Errorf("List by externalId = %v, %v; want u5", one, err)
	}
}

func TestPatchMembersChunksAndETags(t *testing.T) {
	srv, c := startSim(t, scimsim.Options{MaxPatchOperations: 3, MaxMembersPerOperation: 3})
	var ids []string
	for i := range 10 {
		ids = append(ids, srv.Seed(scimsim.User, map[string]any{"userName": fmt.Sprint("u", i)}))
	}
	gid := srv.Seed(scimsim.Group, map[string]any{"displayName": "g"}, ids[:4]...)
	ctx := context.Background()
	_, tag, err := c.Get(ctx, Groups, gid)
	if err != nil {
		t.Fatal(err)
	}
	// Remove 2 of the 4, add the other 6: 8 changes in PATCHes of 3.
	if _, err := c.PatchMembers(ctx, gid, tag, ids[4:], ids[:2], 3); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range srv.Get(gid).Members {
		got = append(got, m.Value)
	}
	slices.Sort(got)
	want := slices.Clone(ids[2:])
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("members after PatchMembers = %v, want %v", got, want)
	}
	patches := 0
	for _, r := range srv.Requests() {
		if r.Method == "PATCH" {
			patches++
			if r.Status != 200 || r.IfMatch == "" {
				t.Errorf("PATCH %s: status %d, If-Match %q; want 200 with If-Match", r.Body, r.Status, r.IfMatch)
			}
		}
	}
	if patches != 3 {
		t.Errorf("PatchMembers sent %d PATCHes for 8 changes of at most 3, want 3", patches)
	}

	// A change by someone else in between is drift, not a silent overwrite.
	srv.Modify(gid, map[string]any{"displayName": "renamed"})
	_, err = c.PatchMembers(ctx, gid, tag, ids[:1], nil, 3)
	if !errors.Is(err, ErrDrift) {
		t.Errorf("PatchMembers with a stale ETag: %v, want ErrDrift", err)
	}
}

func TestErrorsAndLostCreate(t *testing.T) {
	srv, c, url := startSimURL(t, scimsim.Options{})
	ctx := context.Background()
	body := Resource{"schemas": []string{scimsim.UserSchema}, "userName": "alice", "externalId": "uid=alice"}
	srv.Inject(scimsim.Fault{Method: "POST", Path: "Users", Status: 503, RetryAfter: "0", AfterWrite: true, Count: 1})
	r, err := c.Create(ctx, Users, body)
	if err != nil || r.ExternalID() != "uid=alice" {
		t.Fatalf("Create after a lost answer = %v, %v; want the user found by externalId", r, err)
	}
	if n := len(srv.Objects(scimsim.User)); n != 1 {
		t.Errorf("the service holds %d users after a lost create answer, want 1", n)
	}
	_, err = c.Create(ctx, Users, Resource{"schemas": []string{scimsim.UserSchema}, "userName": "ALICE"})
	if !IsUniqueness(err) || !strings.Contains(err.Error(), "uniqueness: userName") || !strings.Contains(err.Error(), "adopt") {
		t.Errorf("duplicate userName: %v; want a uniqueness error with its detail and a hint", err)
	}
	_, err = newClient(t, url, "wrong", 10).List(ctx, Users, ListOptions{})
	if !IsPermission(err) || !strings.Contains(err.Error(), "target.scim.token") {
		t.Errorf("a wrong token: %v; want a permission error naming target.scim.token", err)
	}
}

// TestAgainstSCIMMY runs the client against a SCIM service others
// maintain: its discovery, paging (itemsPerPage reported wrongly) and
// PATCH semantics are SCIMMY's.
func TestAgainstSCIMMY(t *testing.T) {
	s := scimserver.Start(t)
	c := newClient(t, s.URL, s.Token, 2)
	ctx := context.Background()
	caps, err := c.Discover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !caps.Patch || !caps.Filter || caps.ETag || !slices.Contains(caps.AuthenticationSchemes, "oauthbearertoken") {
		t.Errorf("capabilities = %+v, want PATCH and filter, no ETag, bearer auth", caps)
	}
	var ids []string
	for i := range 5 {
		r, err := c.Create(ctx, Users, Resource{"schemas": []string{scimsim.UserSchema}, "userName": fmt.Sprint("u", i), "externalId": fmt.Sprint("k", i)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID())
	}
	all, err := c.List(ctx, Users, ListOptions{})
	if err != nil || len(all) != 5 {
		t.Fatalf("List in pages of 2 read %d users (%v), want 5", len(all), err)
	}
	g, err := c.Create(ctx, Groups, Resource{"schemas": []string{scimsim.GroupSchema}, "displayName": "g", "externalId": "cn=g"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PatchMembers(ctx, g.ID(), "", ids[:3], nil, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PatchMembers(ctx, g.ID(), "", ids[3:], ids[:1], 2); err != nil {
		t.Fatal(err)
	}
	got, _, err := c.Get(ctx, Groups, g.ID())
	if err != nil {
		t.Fatal(err)
	}
	members := got.Members()
	slices.Sort(members)
	want := slices.Clone(ids[1:])
	slices.Sort(want)
	if !slices.Equal(members, want) {
		t.Errorf("SCIMMY's group members = %v, want %v", members, want)
	}
	if _, err := c.Create(ctx, Users, Resource{"schemas": []string{scimsim.UserSchema}, "userName": "u0"}); !IsUniqueness(err) {
		t.Errorf("a taken userName at SCIMMY: %v, want uniqueness", err)
	}
}

// TestBigGroupInChunks: 5,000 members go in PATCHes of at most 100
// member values against a service that refuses more.
func TestBigGroupInChunks(t *testing.T) {
	srv, c := startSim(t, scimsim.Options{MaxPatchOperations: 100, MaxMembersPerOperation: 100})
	ids := make([]string, 5000)
	for i := range ids {
		ids[i] = srv.Seed(scimsim.User, map[string]any{"userName": fmt.Sprint("u", i)})
	}
	gid := srv.Seed(scimsim.Group, map[string]any{"displayName": "everyone"})
	_, tag, err := c.Get(context.Background(), Groups, gid)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PatchMembers(context.Background(), gid, tag, ids, nil, 100); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Get(gid).Members); n != 5000 {
		t.Errorf("the group has %d members, want 5000", n)
	}
	patches := 0
	for _, r := range srv.Requests() {
		if r.Method == "PATCH" {
			patches++
		}
	}
	if patches != 50 {
		t.Errorf("%d PATCHes for 5,000 members in chunks of 100, want 50", patches)
	}
}

// TestListShortPageAhead: a page read ahead that the service cut short
// (here the one at startIndex 4) makes List read on from where it
// ended, so every resource comes once and in order.
func TestListShortPageAhead(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start, _ := strconv.Atoi(r.URL.Query().Get("startIndex"))
		n := 3
		if start == 4 {
			n = 2
		}
		var res []map[string]any
		for i := start; i < start+n && i <= 8; i++ {
			res = append(res, map[string]any{"id": fmt.Sprint("r", i)})
		}
		json.NewEncoder(w).Encode(map[string]any{"totalResults": 8, "Resources": res})
	}))
	defer srv.Close()
	c := newClient(t, srv.URL, "tok", 3)
	all, err := c.List(context.Background(), Users, ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range all {
		ids = append(ids, r.ID())
	}
	if got := strings.Join(ids, ","); got != "r1,r2,r3,r4,r5,r6,r7,r8" {
		t.Errorf("List read %s, want r1 to r8 once each, in order", got)
	}
}
