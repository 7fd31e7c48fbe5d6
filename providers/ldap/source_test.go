package ldap_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/google/go-cmp/cmp"

	"github.com/ldapply/ldapply/fixtures/ldif"
	"github.com/ldapply/ldapply/fixtures/slapd"
	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/providers/ldap"
)

const (
	suffix   = "dc=example,dc=com"
	people   = "ou=people," + suffix
	groupsOU = "ou=groups," + suffix
	svcDN    = "cn=svc-sync," + suffix
	svcPW    = "sync-secret"
)

var baseLDIF = []string{ldif.Path("base.ldif")}

// config returns a Config reading base.ldif from s over plain LDAP as the
// sync account, trying to connect once.
func config(s *slapd.Server) ldap.Config {
	return ldap.Config{
		URI:             s.URL,
		AllowInsecure:   true,
		BindDN:          svcDN,
		BindPassword:    svcPW,
		ConnectAttempts: 1,
		Users:           ldap.UserConfig{SearchConfig: ldap.SearchConfig{Base: people}},
		Groups:          ldap.GroupConfig{SearchConfig: ldap.SearchConfig{Base: groupsOU}},
	}
}

// logRecorder is a slog.Handler that keeps every record and may call a
// hook on each, so tests can act in the middle of a Read.
type logRecorder struct {
	mu      sync.Mutex
	records []slog.Record
	hook    func(slog.Record)
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *logRecorder) WithGroup(string) slog.Handler            { return h }
func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.records = append(h.records, r)
	hook := h.hook
	h.mu.Unlock()
	if hook != nil {
		hook(r)
	}
	return nil
}

// messages returns the messages logged so far, with the attribute attr
// appended as "msg attr=value" when given.
func (h *logRecorder) messages(attrs ...string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, r := range h.records {
		m := r.Message
		r.Attrs(func(a slog.Attr) bool {
			if slices.Contains(attrs, a.Key) {
				m += fmt.Sprintf(" %s=%v", a.Key, a.Value)
			}
			return true
		})
		out = append(out, m)
	}
	return out
}

func read(t *testing.T, cfg ldap.Config) *plan.Directory {
	t.Helper()
	dir, err := ldap.New(cfg, nil).Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func normDNs(es []*plan.Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.NormDN)
	}
	return out
}

func byCN(t *testing.T, es []*plan.Entry, cn string) *plan.Entry {
	t.Helper()
	for _, e := range es {
		if e.First("cn") == cn {
			return e
		}
	}
	t.Fatalf("no entry with cn %q", cn)
	return nil
}

func user(uid string) string { return "uid=" + uid + ",ou=people,dc=example,dc=com" }
func group(cn string) string { return "cn=" + cn + ",ou=groups,dc=example,dc=com" }

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func TestReadBase(t *testing.T) {
	t.Parallel()
	s := slapd.StartT(t, slapd.Options{LDIF: baseLDIF})
	dir := read(t, config(s))

	wantUsers := []string{user("alice"), user("bob"), user("carol"), user("dave"), user("erin"), user("frank"), user("grace"), user("henry"), user("nomail")}
	if d := cmp.Diff(wantUsers, normDNs(dir.Users)); d != "" {
		t.Errorf("users (-want +got):\n%s", d)
	}
	wantGroups := []string{group("all-staff"), group("auditors"), group("dev"), group("ops"), group("r&d (lab)*")}
	if d := cmp.Diff(wantGroups, normDNs(dir.Groups)); d != "" {
		t.Errorf("groups (-want +got):\n%s", d)
	}

	// Keys are the entryUUIDs the admin sees.
	admin, err := s.Conn()
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	res, err := admin.Search(goldap.NewSearchRequest(suffix, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false,
		"(|(objectClass=inetOrgPerson)(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))", []string{"entryUUID"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	uuids := map[string]string{}
	for _, e := range res.Entries {
		uuids[e.DN] = e.GetAttributeValue("entryUUID")
	}
	keys := map[string]bool{}
	for _, e := range slices.Concat(dir.Users, dir.Groups) {
		if !uuidRE.MatchString(e.Key) || e.Key != uuids[e.DN] {
			t.Errorf("%s: key %q, want its entryUUID %q", e.DN, e.Key, uuids[e.DN])
		}
		keys[e.Key] = true
		if got := e.First("entryUUID"); got != e.Key {
			t.Errorf("%s: Attrs[entryUUID] = %q, want the key", e.DN, got)
		}
	}
	if len(keys) != 14 {
		t.Errorf("%d distinct keys, want 14", len(keys))
	}

	alice := dir.Users[0]
	if alice.DN != "uid=alice,ou=people,dc=example,dc=com" || alice.First("mail") != "alice@example.com" ||
		alice.First("givenName") != "Alice" || alice.First("givenname") != "Alice" || alice.First("displayName") != "Alice Archer" {
		t.Errorf("alice = %+v", alice)
	}
	if alice.Members.Len() != 0 {
		t.Errorf("a user has members: %v", alice.Members.Strings())
	}
	for _, e := range dir.Users {
		if _, ok := e.Attrs["userPassword"]; ok {
			t.Errorf("%s: userPassword was readable", e.DN)
		}
		if hasMail := e.First("mail") != ""; hasMail == (e.First("uid") == "nomail") {
			t.Errorf("%s: mail %q; only nomail should lack one", e.DN, e.First("mail"))
		}
	}

	members := map[string][]string{}
	for _, g := range dir.Groups {
		members[g.First("cn")] = g.Members.Strings()
	}
	wantMembers := map[string][]string{
		"ops":        {user("alice"), user("bob"), user("carol")}, // alice written "UID=alice, ou=People,..."
		"dev":        {user("carol"), user("dave"), user("erin")},
		"all-staff":  {group("dev"), group("ops"), user("frank")}, // dev written "CN=Dev,OU=Groups,..."
		"r&d (lab)*": {user("alice"), user("grace")},
		"auditors":   {user("bob"), user("nomail")}, // uniqueMember, one with #'0101'B
	}
	if d := cmp.Diff(wantMembers, members); d != "" {
		t.Errorf("members (-want +got):\n%s", d)
	}

	// Every member resolves to a user or group NormDN.
	known := map[string]bool{}
	for _, e := range slices.Concat(dir.Users, dir.Groups) {
		known[e.NormDN] = true
	}
	for _, g := range dir.Groups {
		for m := range g.Members.All() {
			if !known[m] {
				t.Errorf("%s: member %s matches no entry", g.DN, m)
			}
		}
	}
}

func TestReadPaging(t *testing.T) {
	t.Parallel()
	// Plain searches get at most 3 entries; only paging gets all 9 users.
	s := slapd.StartT(t, slapd.Options{LDIF: baseLDIF, SizeLimit: 3})
	for _, size := range []int{2, 500} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			logs := &logRecorder{}
			cfg := config(s)
			cfg.PageSize = size
			dir, err := ldap.New(cfg, slog.New(logs)).Read(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(dir.Users) != 9 || len(dir.Groups) != 5 {
				t.Errorf("read %d users and %d groups, want 9 and 5", len(dir.Users), len(dir.Groups))
			}
			wantPages := map[int]string{2: "pages=5", 500: "pages=1"}[size]
			found := false
			for _, m := range logs.messages("what", "count", "pages") {
				if strings.HasPrefix(m, "Searched the LDAP server. what=users count=9 "+wantPages) {
					found = true
				}
			}
			if !found {
				t.Errorf("no log of the users search with count=9 %s; logs: %q", wantPages, logs.messages("what", "count", "pages"))
			}
		})
	}
}

func TestIncludeExclude(t *testing.T) {
	t.Parallel()
	s := slapd.StartT(t, slapd.Options{LDIF: baseLDIF})
	for name, tc := range map[string]struct {
		include, exclude []string
		want             []string
	}{
		"include":                  {[]string{"ops", "r&d (lab)*"}, nil, []string{"ops", "r&d (lab)*"}},
		"include case-insensitive": {[]string{"OPS"}, nil, []string{"ops"}},
		"exclude special":          {nil, []string{"r&d (lab)*"}, []string{"all-staff", "auditors", "dev", "ops"}},
		"exclude overrides":        {[]string{"ops", "dev"}, []string{"dev"}, []string{"ops"}},
		"no wildcards":             {[]string{"r&d*", "*"}, nil, nil},
		"filter injection":         {[]string{"x)(cn=*"}, nil, nil},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := config(s)
			cfg.Groups.Include, cfg.Groups.Exclude = tc.include, tc.exclude
			var got []string
			for _, g := range read(t, cfg).Groups {
				got = append(got, g.First("cn"))
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("groups (-want +got):\n%s", d)
			}
		})
	}
}

func TestTLS(t *testing.T) {
	t.Parallel()
	s := slapd.StartT(t, slapd.Options{LDIF: baseLDIF, TLS: true})
	ldapsPort := strings.TrimPrefix(s.LDAPSURL, "ldaps://127.0.0.1:")
	for name, mod := range map[string]func(*ldap.Config){
		"ldaps":           func(c *ldap.Config) { c.URI = s.LDAPSURL },
		"ldaps localhost": func(c *ldap.Config) { c.URI = "ldaps://localhost:" + ldapsPort },
		"starttls":        func(c *ldap.Config) { c.StartTLS = true },
		"starttls only":   func(c *ldap.Config) { c.StartTLS, c.AllowInsecure = true, false },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := config(s)
			cfg.AllowInsecure = false
			cfg.CACert = s.CACertFile
			mod(&cfg)
			if dir := read(t, cfg); len(dir.Users) != 9 {
				t.Errorf("read %d users, want 9", len(dir.Users))
			}
		})
	}
}

func TestTLSVerificationFails(t *testing.T) {
	t.Parallel()
	// The certificate names 127.0.0.1 only, so localhost does not match.
	s := slapd.StartT(t, slapd.Options{LDIF: baseLDIF, TLS: true, TLSHosts: []string{"127.0.0.1"}})
	localhost := func(u string) string { return strings.Replace(u, "127.0.0.1", "localhost", 1) }
	for name, tc := range map[string]struct {
		mod  func(*ldap.Config)
		want string
	}{
		"ldaps hostname": {func(c *ldap.Config) { c.URI = localhost(s.LDAPSURL) },
			"ldap: the TLS certificate of " + localhost(s.LDAPSURL) + " was refused; check source.ca_cert and that the certificate names the host of source.uri: tls: failed to verify certificate: x509: certificate is not valid for any names, but wanted to match localhost"},
		"starttls hostname": {func(c *ldap.Config) { c.URI, c.StartTLS = localhost(s.URL), true },
			"x509: certificate is not valid for any names, but wanted to match localhost"},
		"unknown CA": {func(c *ldap.Config) { c.URI, c.CACert = s.LDAPSURL, "" },
			"x509: certificate signed by unknown authority"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := config(s)
			cfg.AllowInsecure = false
			cfg.CACert = s.CACertFile
			cfg.ConnectAttempts, cfg.ConnectDelay = 3, ldap.Duration(time.Hour) // must not be retried
			tc.mod(&cfg)
			_, err := ldap.New(cfg, nil).Read(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestInsecureSkipVerify: with insecure_skip_verify a certificate that
// does not verify is accepted, and every read warns about it.
func TestInsecureSkipVerify(t *testing.T) {
	t.Parallel()
	s := slapd.StartT(t, slapd.Options{LDIF: baseLDIF, TLS: true, TLSHosts: []string{"127.0.0.1"}})
	cfg := config(s)
	cfg.AllowInsecure = false
	cfg.URI = strings.Replace(s.LDAPSURL, "127.0.0.1", "localhost", 1) // not in the certificate, CA unknown
	cfg.InsecureSkipVerify = true
	logs := &logRecorder{}
	dir, err := ldap.New(cfg, slog.New(logs)).Read(context.Background())
	if err != nil || len(dir.Users) != 9 {
		t.Fatalf("read with insecure_skip_verify: %v", err)
	}
	if !slices.ContainsFunc(logs.messages(), func(m string) bool {
		return strings.HasPrefix(m, "TLS certificate verification of the LDAP server is off")
	}) {
		t.Error("no warning about insecure_skip_verify")
	}
}

func TestWrongPassword(t *testing.T) {
	t.Parallel()
	s := slapd.StartT(t, slapd.Options{LDIF: baseLDIF})
	cfg := config(s)
	cfg.BindPassword = "hunter2-wrong"
	cfg.ConnectAttempts, cfg.ConnectDelay = 3, ldap.Duration(time.Hour) // must not be retried
	logs := &logRecorder{}
	_, err := ldap.New(cfg, slog.New(logs)).Read(context.Background())
	want := "ldap: bind as cn=svc-sync,dc=example,dc=com to " + s.URL + ": invalid credentials (LDAP result 49); check source.bind_dn and source.bind_password"
	if err == nil || err.Error() != want {
		t.Fatalf("got error\n%v\nwant\n%s", err, want)
	}
	if !goldap.IsErrorWithCode(err, goldap.LDAPResultInvalidCredentials) {
		t.Errorf("error does not wrap the LDAP result 49")
	}
	if m := strings.Join(logs.messages("err"), "\n"); strings.Contains(m, "hunter2") {
		t.Errorf("logs contain the password: %s", m)
	}
}

func TestConnectRetries(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	uri := "ldap://" + l.Addr().String()
	l.Close() // nothing listens there now: connection refused

	cfg := ldap.Config{
		URI: uri, AllowInsecure: true, BindDN: svcDN, BindPassword: svcPW,
		ConnectAttempts: 3, ConnectDelay: ldap.Duration(20 * time.Millisecond),
		Users:  ldap.UserConfig{SearchConfig: ldap.SearchConfig{Base: people}},
		Groups: ldap.GroupConfig{SearchConfig: ldap.SearchConfig{Base: groupsOU}},
	}
	logs := &logRecorder{}
	start := time.Now()
	_, err = ldap.New(cfg, slog.New(logs)).Read(context.Background())
	want := regexp.MustCompile(`^ldap: gave up after 3 attempts: never connected to ` + regexp.QuoteMeta(uri) + `; check source.uri and that the server is running and reachable: connect: connection refused$`)
	if err == nil || !want.MatchString(err.Error()) {
		t.Fatalf("got error %v, want one matching %s", err, want)
	}
	if d := time.Since(start); d < 40*time.Millisecond {
		t.Errorf("took %s, want at least two delays of 20ms", d)
	}
	retries := 0
	for _, m := range logs.messages("attempt") {
		if strings.HasPrefix(m, "Connecting to the LDAP server failed; trying again.") {
			retries++
		}
	}
	if retries != 2 {
		t.Errorf("%d retries logged, want 2: %q", retries, logs.messages("attempt"))
	}

	// A cancelled context ends the waiting.
	cfg.ConnectDelay = ldap.Duration(time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := ldap.New(cfg, nil).Read(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("with a context that ends: got %v, want context.DeadlineExceeded", err)
	}
}

func TestMissingKey(t *testing.T) {
	t.Parallel()
	s := slapd.StartT(t, slapd.Options{LDIF: baseLDIF})
	cfg := config(s)
	cfg.Users.Key = "employeeNumber" // henry has none
	_, err := ldap.New(cfg, nil).Read(context.Background())
	want := "ldap: user uid=henry,ou=people,dc=example,dc=com: no employeeNumber attribute (the key); the entry lacks it or the bind DN may not read it; check source.users.key"
	if err == nil || err.Error() != want {
		t.Fatalf("got error\n%v\nwant\n%s", err, want)
	}

	cfg.Users.Key = "objectClass" // multi-valued? inetOrgPerson has one value here; then not unique
	_, err = ldap.New(cfg, nil).Read(context.Background())
	if err == nil || !strings.Contains(err.Error(), "share the key objectClass=inetOrgPerson; source.users.key must be unique") {
		t.Errorf("duplicate keys: got %v", err)
	}
}

// TestNoPartialRead checks that a failure after some entries were read
// fails the whole Read.
func TestNoPartialRead(t *testing.T) {
	t.Parallel()
	t.Run("bad groups base", func(t *testing.T) {
		t.Parallel()
		s := slapd.StartT(t, slapd.Options{LDIF: baseLDIF})
		cfg := config(s)
		cfg.Groups.Base = "ou=nowhere," + suffix
		dir, err := ldap.New(cfg, nil).Read(context.Background())
		want := "ldap: search groups under ou=nowhere,dc=example,dc=com with filter (|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)): no such object (LDAP result 32); check source.groups.base"
		if dir != nil || err == nil || err.Error() != want {
			t.Errorf("got %v, error\n%v\nwant\n%s", dir, err, want)
		}
	})
	t.Run("server stops after a page", func(t *testing.T) {
		t.Parallel()
		s := slapd.StartT(t, slapd.Options{LDIF: baseLDIF})
		cfg := config(s)
		cfg.PageSize = 2
		logs := &logRecorder{hook: func(r slog.Record) {
			if r.Message == "Read a page of LDAP search results." {
				s.Stop()
			}
		}}
		dir, err := ldap.New(cfg, slog.New(logs)).Read(context.Background())
		t.Logf("error: %v", err)
		// Users and groups are read at the same time: either search may
		// be the one to report the loss.
		if dir != nil || err == nil || !strings.HasPrefix(err.Error(), "ldap: search users under ou=people,dc=example,dc=com with filter (objectClass=inetOrgPerson): ") &&
			!strings.HasPrefix(err.Error(), "ldap: search groups under ou=groups,dc=example,dc=com with filter ") {
			t.Errorf("got %v, error %v", dir, err)
		}
	})
	t.Run("cancelled after a page", func(t *testing.T) {
		t.Parallel()
		s := slapd.StartT(t, slapd.Options{LDIF: baseLDIF})
		cfg := config(s)
		cfg.PageSize = 2
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		logs := &logRecorder{hook: func(r slog.Record) {
			if r.Message == "Read a page of LDAP search results." {
				cancel()
			}
		}}
		dir, err := ldap.New(cfg, slog.New(logs)).Read(ctx)
		t.Logf("error: %v", err)
		if dir != nil || !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, error %v; want context.Canceled", dir, err)
		}
	})
}

func TestBindPasswordFile(t *testing.T) {
	t.Parallel()
	s := slapd.StartT(t, slapd.Options{LDIF: baseLDIF})
	file := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(file, []byte(svcPW+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := config(s)
	cfg.BindPassword, cfg.BindPasswordFile = "", file
	if dir := read(t, cfg); len(dir.Users) != 9 {
		t.Errorf("read %d users, want 9", len(dir.Users))
	}

	// Only one newline is trimmed.
	if err := os.WriteFile(file, []byte("a\nb\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg = config(s)
	cfg.BindPassword, cfg.BindPasswordFile = "", file
	if err := cfg.Resolve(); err != nil {
		t.Fatal(err)
	}
	if cfg.BindPassword != "a\nb\n" {
		t.Errorf("password %q, want %q", cfg.BindPassword, "a\nb\n")
	}
	if err := cfg.Resolve(); err != nil {
		t.Errorf("resolving twice: %v", err)
	}
}

// TestServerRestartDuringPagedSearch: a restart between pages breaks the
// connection and the server's paging state; the read starts over and ends
// complete, never partial.
func TestServerRestartDuringPagedSearch(t *testing.T) {
	t.Parallel()
	s := slapd.StartT(t, slapd.Options{LDIF: baseLDIF})
	cfg := config(s)
	cfg.PageSize = 2
	cfg.ConnectAttempts = 3
	cfg.ConnectDelay = ldap.Duration(50 * time.Millisecond)
	var once sync.Once
	logs := &logRecorder{hook: func(r slog.Record) {
		if r.Message == "Read a page of LDAP search results." {
			once.Do(func() {
				if err := s.Restart(); err != nil {
					t.Error(err)
				}
			})
		}
	}}
	dir, err := ldap.New(cfg, slog.New(logs)).Read(context.Background())
	if err != nil {
		t.Fatalf("read after a restart: %v", err)
	}
	if len(dir.Users) != 9 || len(dir.Groups) != 5 {
		t.Errorf("read %d users and %d groups after the restart, want all 9 and 5", len(dir.Users), len(dir.Groups))
	}
	if !slices.ContainsFunc(logs.messages(), func(m string) bool {
		return strings.HasPrefix(m, "ldap: the connection to "+s.URL+" was cut off mid-read; ") && strings.HasSuffix(m, "; reading everything again from the start.")
	}) {
		t.Errorf("the read did not start over (no warning logged): %q", logs.messages())
	}

	// A server that stays down: the retries end in an error, no directory.
	var stopOnce sync.Once
	logs = &logRecorder{hook: func(r slog.Record) {
		if r.Message == "Read a page of LDAP search results." {
			stopOnce.Do(func() { s.Stop() })
		}
	}}
	dir, err = ldap.New(cfg, slog.New(logs)).Read(context.Background())
	if dir != nil || err == nil || !strings.Contains(err.Error(), "gave up after 3 attempts") {
		t.Errorf("read with the server gone: dir %v, err %v", dir, err)
	}
}

// TestPageCookieInvalidated: another paged search on the same connection
// makes slapd drop the first one's paging state, so its next page request
// is refused ("paged results cookie is invalid"). The read starts over and
// ends complete; with no attempts left it fails, never partial.
func TestPageCookieInvalidated(t *testing.T) {
	t.Parallel()
	s := slapd.StartT(t, slapd.Options{LDIF: baseLDIF})
	for _, attempts := range []int{3, 1} {
		cfg := config(s)
		cfg.PageSize = 2
		cfg.ConnectAttempts = attempts
		cfg.ConnectDelay = ldap.Duration(10 * time.Millisecond)
		logs := &logRecorder{}
		src := ldap.New(cfg, slog.New(logs))
		var once sync.Once
		ldap.SetAfterPage(src, func(c *goldap.Conn) {
			once.Do(func() {
				req := goldap.NewSearchRequest(groupsOU, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false,
					"(objectClass=*)", []string{"1.1"}, []goldap.Control{goldap.NewControlPaging(1)})
				if _, err := c.Search(req); err != nil {
					t.Errorf("the interfering search failed: %v", err)
				}
			})
		})
		dir, err := src.Read(context.Background())
		if attempts == 1 {
			if dir != nil || err == nil || !strings.Contains(err.Error(), "cookie") {
				t.Errorf("with one attempt: dir %v, err %v; want an error about the cookie", dir, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("read with an invalidated cookie: %v", err)
		}
		if len(dir.Users) != 9 || len(dir.Groups) != 5 {
			t.Errorf("read %d users and %d groups, want all 9 and 5", len(dir.Users), len(dir.Groups))
		}
		if !slices.Contains(logs.messages(), "The LDAP server dropped the paged search (busy, unavailable, or it forgot the page cookie); reading everything again from the start.") {
			t.Errorf("the read did not start over: %q", logs.messages())
		}
	}
}

// TestUserAttributes: with UserAttributes set (the attributes the
// target's mapping reads), the users search returns those and the key
// only; the groups keep every attribute and their members.
func TestUserAttributes(t *testing.T) {
	t.Parallel()
	s := slapd.StartT(t, slapd.Options{LDIF: baseLDIF})
	src := ldap.New(config(s), nil)
	src.UserAttributes = []string{"uid", "MAIL"}
	dir, err := src.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(dir.Users) != 9 {
		t.Fatalf("read %d users, want 9", len(dir.Users))
	}
	for _, u := range dir.Users {
		for name := range u.Attrs {
			if !strings.EqualFold(name, "uid") && !strings.EqualFold(name, "mail") && name != "entryUUID" { // the key
				t.Errorf("user %s has attribute %s, which was not asked for", u.DN, name)
			}
		}
		if u.First("uid") == "" || u.Key == "" {
			t.Errorf("user %s: uid %q, key %q; want both", u.DN, u.First("uid"), u.Key)
		}
	}
	alice := dir.Users[slices.IndexFunc(dir.Users, func(e *plan.Entry) bool { return e.First("uid") == "alice" })]
	if alice.First("mail") == "" {
		t.Errorf("alice's mail was not read: %v", alice.Attrs)
	}
	for _, g := range dir.Groups {
		if g.First("cn") == "" {
			t.Errorf("group %s lost its cn", g.DN)
		}
	}
	if g := dir.Groups[slices.IndexFunc(dir.Groups, func(e *plan.Entry) bool { return e.Members.Len() > 0 })]; g.Members.Len() == 0 {
		t.Error("no group has members")
	}

	// nil reads every user attribute.
	all, err := ldap.New(config(s), nil).Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if all.Users[0].First("objectClass") == "" {
		t.Errorf("without UserAttributes the users lack objectClass: %v", all.Users[0].Attrs)
	}
}

// TestReferral: a search under a base the server does not hold comes
// back as a referral (LDAP result 10). Read skips it with a debug log and
// marks the kind in Directory.Referred, with the URL; the other kind is
// read in full.
func TestReferral(t *testing.T) {
	t.Parallel()
	s := slapd.StartT(t, slapd.Options{LDIF: baseLDIF, Referral: "ldap://ldap-2.example.com/"})
	cfg := config(s)
	cfg.Groups.Base = "ou=groups,dc=elsewhere,dc=org"
	logs := &logRecorder{}
	dir, err := ldap.New(cfg, slog.New(logs)).Read(context.Background())
	if err != nil {
		t.Fatalf("a referred search failed the read: %v", err)
	}
	if len(dir.Users) != 9 || len(dir.Groups) != 0 {
		t.Errorf("read %d users, %d groups; want 9 and none", len(dir.Users), len(dir.Groups))
	}
	want := []string{"ldap://ldap-2.example.com/ou=groups,dc=elsewhere,dc=org??sub"}
	if got := dir.Referred[plan.KindGroup]; !slices.Equal(got, want) {
		t.Errorf("Referred[group] = %v, want %v", got, want)
	}
	if _, ok := dir.Referred[plan.KindUser]; ok {
		t.Error("the users search is marked referred")
	}
	if !slices.Contains(logs.messages(), "Skipping an LDAP search the server referred elsewhere (LDAP result 10): it does not hold the base.") {
		t.Errorf("no debug log of the skipped search: %v", logs.messages())
	}
}
