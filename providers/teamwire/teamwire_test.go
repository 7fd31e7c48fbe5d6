package teamwire_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ldapply/ldapply/fixtures/teamwiresim"
	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/planfile"
	"github.com/ldapply/ldapply/providers"
	"github.com/ldapply/ldapply/providers/ldap"
	"github.com/ldapply/ldapply/providers/teamwire"
)

const (
	superEmail = "ops-bot@example.com"
	superPW    = "tw-Secret-1"
	adminEmail = "admin@example.com"
	adminPW    = "tw-Secret-2"
	totpEmail  = "totp@example.com"
	totpSecret = "JBSWY3DPEHPK3PXP"
	ldapPW     = "ldap-bind-Secret-9"
)

// newSim starts the simulator with organisations 12 (enabled), 13
// (enabled) and 14 (disabled), a Superadmin, a plain admin of 12, a 2FA
// admin, an admin without permissions, a disabled admin and an admin of
// the disabled organisation.
func newSim(t *testing.T) (*teamwiresim.Server, string) {
	t.Helper()
	return teamwiresim.Start(t, teamwiresim.Options{
		RunDuration: 300 * time.Millisecond,
		Orgs: []teamwiresim.Org{
			{ID: 12, Name: "Example"}, {ID: 13, Name: "Second"}, {ID: 14, Name: "Gone", Disabled: true},
		},
		Admins: []teamwiresim.Admin{
			{Email: superEmail, Password: superPW, Org: 12, Superadmin: true},
			{Email: adminEmail, Password: adminPW, Org: 12},
			{Email: totpEmail, Password: superPW, Org: 12, Superadmin: true, TOTPSecret: totpSecret},
			{Email: "noperm@example.com", Password: superPW, Org: 12, Superadmin: true, Perms: []string{}},
			{Email: "disabled@example.com", Password: superPW, Org: 12, Disabled: true},
			{Email: "orphan@example.com", Password: superPW, Org: 14, Superadmin: true},
		},
	})
}

func client(t *testing.T, url, email, pw, totp string) *teamwire.Client {
	t.Helper()
	c, err := teamwire.NewClient(teamwire.ClientConfig{URL: url, Email: email, Password: pw, TOTPSecret: totp})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func wantStatus(t *testing.T, err error, status int, contains ...string) {
	t.Helper()
	var ae *teamwire.APIError
	if !errors.As(err, &ae) || ae.Status != status {
		t.Fatalf("err = %v, want HTTP %d", err, status)
	}
	for _, s := range contains {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not say %q", err, s)
		}
	}
}

// TestTOTP checks the RFC 6238 appendix B vectors (SHA-1), last 6 digits.
func TestTOTP(t *testing.T) {
	key := []byte("12345678901234567890")
	for ts, want := range map[int64]string{59: "287082", 1111111109: "081804", 1234567890: "005924", 2000000000: "279037", 20000000000: "353130"} {
		if got := teamwire.TOTP(key, time.Unix(ts, 0)); got != want {
			t.Errorf("TOTP at %d = %s, want %s", ts, got, want)
		}
	}
}

// TestStatusCodes covers every status code of the seed's result tables and
// of login, each in a subtest named after it.
func TestStatusCodes(t *testing.T) {
	ctx := context.Background()
	sim, url := newSim(t)
	super := client(t, url, superEmail, superPW, "")

	t.Run("login_200_keeps_all_cookies", func(t *testing.T) {
		// The simulator sets two cookies and wants both back.
		if _, err := super.GetSettings(ctx, "12"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("login_401_wrong_password", func(t *testing.T) {
		_, err := client(t, url, superEmail, "wrong", "").GetSettings(ctx, "12")
		wantStatus(t, err, 401, "wrong email or password", "Invalid email or password")
	})
	t.Run("login_401_totp_required", func(t *testing.T) {
		_, err := client(t, url, totpEmail, superPW, "").GetSettings(ctx, "12")
		wantStatus(t, err, 401, "totp_secret is not set")
	})
	t.Run("login_200_totp", func(t *testing.T) {
		if _, err := client(t, url, totpEmail, superPW, strings.ToLower(totpSecret)).GetSettings(ctx, "12"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("login_401_totp_wrong", func(t *testing.T) {
		_, err := client(t, url, totpEmail, superPW, "GEZDGNBVGY3TQOJQ").GetSettings(ctx, "12")
		wantStatus(t, err, 401, "TOTP code was rejected")
	})
	t.Run("login_403_disabled_admin", func(t *testing.T) {
		_, err := client(t, url, "disabled@example.com", superPW, "").GetSettings(ctx, "12")
		wantStatus(t, err, 403, "disabled")
	})
	t.Run("status_401_relogin_once", func(t *testing.T) {
		c := client(t, url, superEmail, superPW, "")
		if _, err := c.GetSettings(ctx, "12"); err != nil {
			t.Fatal(err)
		}
		sim.ExpireSessions()
		if _, err := c.GetStatus(ctx, "12", 0); err != nil {
			t.Fatal(err)
		}
		if c.Logins() != 2 {
			t.Fatalf("logins = %d, want 2", c.Logins())
		}
	})
	t.Run("status_401_after_relogin", func(t *testing.T) {
		c := client(t, url, superEmail, superPW, "")
		sim.Inject(teamwiresim.Fault{Method: "GET", Path: "ldapsettings/13/", Count: 2, Status: 401})
		_, err := c.GetSettings(ctx, "13")
		wantStatus(t, err, 401, "even right after logging in again")
		if c.Logins() != 2 {
			t.Fatalf("logins = %d, want 2 (one re-login, no more)", c.Logins())
		}
	})
	t.Run("status_403_not_superadmin", func(t *testing.T) {
		_, err := client(t, url, adminEmail, adminPW, "").GetSettings(ctx, "12")
		wantStatus(t, err, 403, "not a Superadmin", "leave target.teamwire.organisations empty")
	})
	t.Run("status_200_own_organisation", func(t *testing.T) {
		if _, err := client(t, url, adminEmail, adminPW, "").GetSettings(ctx, teamwire.OwnOrg); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("status_403_own_organisation_disabled", func(t *testing.T) {
		_, err := client(t, url, "orphan@example.com", superPW, "").GetSettings(ctx, "12")
		wantStatus(t, err, 403, "organisation is disabled")
	})
	t.Run("status_403_missing_permission", func(t *testing.T) {
		c := client(t, url, "noperm@example.com", superPW, "")
		_, err := c.GetSettings(ctx, "12")
		wantStatus(t, err, 403, "allow_view_settings")
		wantStatus(t, c.SetSettings(ctx, "12", []byte(`{}`)), 403, "allow_modify_settings")
		wantStatus(t, c.StartRun(ctx, "12"), 403, "allow_manage_ldap_sync")
	})
	t.Run("status_404_unknown_organisation", func(t *testing.T) {
		_, err := super.GetSettings(ctx, "99")
		wantStatus(t, err, 404, "organisation 99 does not exist")
		if !teamwire.IsNotFound(err) {
			t.Error("IsNotFound is false")
		}
	})
	t.Run("status_409_organisation_disabled", func(t *testing.T) {
		_, err := super.GetSettings(ctx, "14")
		wantStatus(t, err, 409, "organisation 14 is disabled")
		wantStatus(t, super.SetSettings(ctx, "14", []byte(`{}`)), 409)
		wantStatus(t, super.StartRun(ctx, "14"), 409)
		_, err = super.GetStatus(ctx, "14", 0)
		wantStatus(t, err, 409)
	})
	t.Run("status_409_no_run_active", func(t *testing.T) {
		err := super.AbortRun(ctx, "13")
		wantStatus(t, err, 409, "no sync run is active")
		if !teamwire.IsConflict(err) {
			t.Error("IsConflict is false")
		}
	})
	t.Run("status_400_with_server_message", func(t *testing.T) {
		err := super.SetSettings(ctx, "12", []byte(`{"synchronisation_interval": 7}`))
		wantStatus(t, err, 400, "the server said: synchronisation_interval must be a multiple of 5")
	})
	t.Run("status_503_retried", func(t *testing.T) {
		sim.Inject(teamwiresim.Fault{Method: "GET", Path: "ldapsync/12/", Count: 1, Status: 503})
		if _, err := super.GetStatus(ctx, "12", 0); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("start_run_not_retried", func(t *testing.T) {
		before := sim.CountCalls("PUT", "ldapsync/13/")
		sim.Inject(teamwiresim.Fault{Method: "PUT", Path: "ldapsync/13/", Count: 1, Status: 503})
		wantStatus(t, super.StartRun(ctx, "13"), 503)
		if n := sim.CountCalls("PUT", "ldapsync/13/") - before; n != 1 {
			t.Fatalf("PUT sent %d times, want 1", n)
		}
	})
}

func source(pw string) *ldap.Config {
	src := &ldap.Config{URI: "ldaps://ldap.example.com", BindDN: "cn=svc-sync,dc=example,dc=com", BindPassword: pw,
		Users:  ldap.UserConfig{SearchConfig: ldap.SearchConfig{Base: "ou=people,dc=example,dc=com"}},
		Groups: ldap.GroupConfig{SearchConfig: ldap.SearchConfig{Base: "ou=groups,dc=example,dc=com"}, Include: []string{"ops", "dev"}, Exclude: []string{"old"}}}
	if err := src.Resolve(); err != nil {
		panic(err)
	}
	return src
}

func newProvider(t *testing.T, url string, mod func(*teamwire.Config), pw string) *teamwire.Provider {
	t.Helper()
	cfg := teamwire.Config{URL: url, AllowInsecure: true, Email: superEmail, Password: superPW, Organisations: []int{12, 13},
		Settings:     map[string]any{"synchronisation_interval": 30, "group_is_public_attr": "extensionAttribute1"},
		PollInterval: ldap.Duration(10 * time.Millisecond)}
	if mod != nil {
		mod(&cfg)
	}
	if err := cfg.Resolve("inetorgperson"); err != nil {
		t.Fatal(err)
	}
	p, err := teamwire.New(cfg, providers.Env{Source: source(pw), Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// applyAll applies every change of pl and records the bindings.
func applyAll(t *testing.T, p *teamwire.Provider, pl *plan.Plan, b plan.Bindings) {
	t.Helper()
	for i := range pl.Changes {
		if err := p.Apply(context.Background(), &pl.Changes[i]); err != nil {
			t.Fatal(err)
		}
		if pl.Changes[i].Action == plan.Delete {
			delete(b[pl.Changes[i].Kind], pl.Changes[i].Key)
		} else {
			b.Add(pl.Changes[i].Binding())
		}
	}
}

func TestPlanApply(t *testing.T) {
	ctx := context.Background()
	sim, url := newSim(t)
	sim.SetSetting(12, "bindpw", "old-password")
	p := newProvider(t, url, nil, ldapPW)
	b := plan.Bindings{}

	pl, err := p.Plan(ctx, &plan.Directory{}, b)
	if err != nil {
		t.Fatal(err)
	}
	if len(pl.Changes) != 2 || pl.Changes[0].Action != plan.Adopt || pl.Changes[0].Kind != teamwire.KindSettings || pl.Changes[0].ID != "12" {
		t.Fatalf("changes = %+v", pl.Changes)
	}
	var text bytes.Buffer
	if err := plan.Render(&text, pl, plan.FormatText, plan.RenderOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`<= settings organisation 12 (key 12)`,
		`~ synchronisation_interval = "0" -> "30"`,
		`~ groups_includelist       = "" -> "ops,dev"`,
		`~ bindpw                   = (sensitive value changed)`,
		`~ uri                      = "" -> "ldaps://ldap.example.com"`,
		`Plan: 0 to add, 2 to adopt, 0 to change, 0 to rename, 0 to destroy.`,
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("plan text lacks %q:\n%s", want, text.String())
		}
	}

	t.Run("sensitive_bindpw", func(t *testing.T) {
		var gz bytes.Buffer
		if err := planfile.Write(&gz, pl, []byte("key")); err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(&gz)
		if err != nil {
			t.Fatal(err)
		}
		var file bytes.Buffer
		if _, err := io.Copy(&file, zr); err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{ldapPW, "old-password"} {
			if strings.Contains(file.String(), secret) || strings.Contains(text.String(), secret) {
				t.Fatalf("the plan holds the secret %q", secret)
			}
		}
		if !strings.Contains(file.String(), "pbkdf2-sha256$") {
			t.Fatal("the plan file has no salted hash for bindpw")
		}
	})

	applyAll(t, p, pl, b)
	got := sim.Settings(12)
	for k, want := range map[string]any{"bindpw": ldapPW, "synchronisation_interval": int64(30), "groups_excludelist": "old",
		"binddn": "cn=svc-sync,dc=example,dc=com", "users_basedn": "ou=people,dc=example,dc=com", "schema": "inetorgperson",
		"group_objects_filter": "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))", "connect_attempts": int64(3)} {
		if got[k] != want {
			t.Errorf("settings[%s] = %#v, want %#v", k, got[k], want)
		}
	}

	t.Run("idempotent", func(t *testing.T) {
		again, err := p.Plan(ctx, &plan.Directory{}, b)
		if err != nil {
			t.Fatal(err)
		}
		if len(again.Changes) != 0 {
			t.Fatalf("second plan has changes: %+v", again.Changes)
		}
	})
	t.Run("field_by_field_update", func(t *testing.T) {
		sim.SetSetting(13, "group_is_public_attr", "")
		pl, err := p.Plan(ctx, &plan.Directory{}, b)
		if err != nil {
			t.Fatal(err)
		}
		if len(pl.Changes) != 1 || pl.Changes[0].Action != plan.Update || pl.Changes[0].ID != "13" {
			t.Fatalf("changes = %+v", pl.Changes)
		}
		if ac := plan.AttrChanges(pl.Changes[0].Before, pl.Changes[0].After); len(ac) != 1 || ac[0].Name != "group_is_public_attr" {
			t.Fatalf("attribute changes = %+v", ac)
		}
		applyAll(t, p, pl, b)
	})
	t.Run("body_built_from_the_change", func(t *testing.T) {
		// The POST carries the managed values of the reviewed change
		// (After), whatever else they could be taken from, and every
		// other setting as the server has it when apply reads it.
		sim.SetSetting(13, "synchronisation_interval", 5)
		pl, err := p.Plan(ctx, &plan.Directory{}, b)
		if err != nil {
			t.Fatal(err)
		}
		if len(pl.Changes) != 1 || pl.Changes[0].ID != "13" {
			t.Fatalf("changes = %+v", pl.Changes)
		}
		pl.Changes[0].After.Attrs["synchronisation_interval"] = "45"
		applyAll(t, p, pl, b)
		got := sim.Settings(13)
		if got["synchronisation_interval"] != int64(45) {
			t.Errorf("synchronisation_interval = %#v after apply, want 45 as the change's After says", got["synchronisation_interval"])
		}
		if got["group_is_public_attr"] != "extensionAttribute1" || got["bindpw"] != ldapPW {
			t.Errorf("after apply: group_is_public_attr %#v, bindpw kept: %v", got["group_is_public_attr"], got["bindpw"] == ldapPW)
		}
		sim.SetSetting(13, "synchronisation_interval", 30)
	})
	t.Run("stale_secret_refused", func(t *testing.T) {
		sim.SetSetting(12, "bindpw", "changed-by-hand")
		pl, err := p.Plan(ctx, &plan.Directory{}, b)
		if err != nil {
			t.Fatal(err)
		}
		other := newProvider(t, url, nil, "a-newer-password")
		posts := sim.CountCalls("POST", "ldapsettings/12/")
		err = other.Apply(ctx, &pl.Changes[0])
		if !errors.Is(err, teamwire.ErrStaleSecret) {
			t.Fatalf("err = %v, want ErrStaleSecret", err)
		}
		if sim.CountCalls("POST", "ldapsettings/12/") != posts {
			t.Fatal("a POST was sent")
		}
		if strings.Contains(err.Error(), "a-newer-password") || strings.Contains(err.Error(), ldapPW) {
			t.Fatal("the error shows a secret")
		}
	})
	t.Run("drift_refused", func(t *testing.T) {
		pl, err := p.Plan(ctx, &plan.Directory{}, b)
		if err != nil {
			t.Fatal(err)
		}
		sim.SetSetting(12, "user_profile_role_attr", "title")
		if err := p.Apply(ctx, &pl.Changes[0]); !errors.Is(err, teamwire.ErrDrift) {
			t.Fatalf("err = %v, want ErrDrift", err)
		}
	})
	t.Run("organisation_removed_stops_management", func(t *testing.T) {
		only12 := newProvider(t, url, func(c *teamwire.Config) { c.Organisations = []int{12} }, ldapPW)
		sim.SetSetting(12, "bindpw", ldapPW)
		sim.SetSetting(12, "user_profile_role_attr", "")
		pl, err := only12.Plan(ctx, &plan.Directory{}, b)
		if err != nil {
			t.Fatal(err)
		}
		if len(pl.Changes) != 1 || pl.Changes[0].Action != plan.Delete || pl.Changes[0].ID != "13" || len(pl.Warnings) != 1 {
			t.Fatalf("changes = %+v, warnings = %q", pl.Changes, pl.Warnings)
		}
		posts := len(sim.Calls())
		applyAll(t, only12, pl, b)
		if len(sim.Calls()) != posts {
			t.Fatal("the delete sent requests")
		}
	})
}

func TestValidation(t *testing.T) {
	for name, tc := range map[string]struct {
		settings map[string]any
		want     string
	}{
		"interval_not_multiple_of_5": {map[string]any{"synchronisation_interval": 7}, "not a multiple of 5"},
		"interval_negative":          {map[string]any{"synchronisation_interval": -5}, "at least 0"},
		"schema_unknown":             {map[string]any{"schema": "openldap"}, "use inetorgperson or ad"},
		"groups_whitelist":           {map[string]any{"groups_whitelist": "a"}, "deprecated by Teamwire and will be removed; use groups_includelist"},
		"groups_blacklist":           {map[string]any{"groups_blacklist": "a"}, "use groups_excludelist"},
		"bindpw_in_settings":         {map[string]any{"bindpw": "x"}, "target.teamwire.bind_password"},
		"unknown_setting":            {map[string]any{"colour": "x"}, "not a Teamwire LDAP setting"},
		"string_expected":            {map[string]any{"uri": 5}, "want a string"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := teamwire.Config{URL: "https://tw.example.com/admin-api", Email: "a@example.com", Password: "x", Settings: tc.settings}
			err := cfg.Resolve("inetorgperson")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	t.Run("interval_0_manual_only", func(t *testing.T) {
		cfg := teamwire.Config{URL: "https://tw.example.com/admin-api", Email: "a@example.com", Password: "x", Settings: map[string]any{"synchronisation_interval": 0, "groups_includelist": []any{"a", "b"}}}
		if err := cfg.Resolve("ad"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("comma_in_group_name", func(t *testing.T) {
		cfg := teamwire.Config{URL: "https://tw.example.com/admin-api", Email: "a@example.com", Password: "x"}
		if err := cfg.Resolve("inetorgperson"); err != nil {
			t.Fatal(err)
		}
		src := source("pw")
		src.Groups.Include = []string{"a,b"}
		if _, err := teamwire.New(cfg, providers.Env{Source: src, Version: "test"}); err == nil || !strings.Contains(err.Error(), "contains a comma") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestRun(t *testing.T) {
	ctx := context.Background()
	t.Run("progress", func(t *testing.T) {
		sim, url := newSim(t)
		p := newProvider(t, url, nil, ldapPW)
		var out bytes.Buffer
		if err := p.Run(ctx, "12", &out); err != nil {
			t.Fatalf("%v\n%s", err, out.String())
		}
		s := out.String()
		for _, want := range []string{"Started an LDAP sync run of organisation 12.", "organisation 12: progress ", "WARNING  User uid=nomail has no email address",
			"INFO     Synchronisation finished.", "Sync run of organisation 12 ended: Success"} {
			if !strings.Contains(s, want) {
				t.Errorf("output lacks %q:\n%s", want, s)
			}
		}
		if strings.Count(s, "Connecting to the LDAP server.") != 1 {
			t.Errorf("log entries repeated (sync_log_skip_entries not used):\n%s", s)
		}
		if strings.Contains(s, "\r") {
			t.Errorf("progress bar drawn on a non-terminal:\n%q", s)
		}
		if st, _ := sim.RunState(12); st != "Success" {
			t.Fatalf("state %s", st)
		}
	})
	t.Run("run_failure", func(t *testing.T) {
		sim, url := newSim(t)
		sim.FailNextRun(12, 50)
		p := newProvider(t, url, nil, ldapPW)
		var out bytes.Buffer
		err := p.Run(ctx, "12", &out)
		if !errors.Is(err, teamwire.ErrRunFailed) {
			t.Fatalf("err = %v\n%s", err, out.String())
		}
		if !strings.Contains(out.String(), "CRITICAL Lost the connection") || !strings.Contains(out.String(), "ended: Failure") {
			t.Fatalf("output:\n%s", out.String())
		}
	})
	t.Run("abort_run", func(t *testing.T) {
		sim, url := teamwiresim.Start(t, teamwiresim.Options{RunDuration: time.Minute, Orgs: []teamwiresim.Org{{ID: 12}},
			Admins: []teamwiresim.Admin{{Email: superEmail, Password: superPW, Org: 12, Superadmin: true}}})
		p := newProvider(t, url, func(c *teamwire.Config) { c.Organisations = []int{12} }, ldapPW)
		ctx, cancel := context.WithCancel(ctx)
		go func() {
			for {
				if st, _ := sim.RunState(12); st == "Running" {
					cancel()
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
		var out bytes.Buffer
		err := p.Run(ctx, "12", &out)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
		if !strings.Contains(out.String(), "Aborted the sync run of organisation 12.") {
			t.Fatalf("output:\n%s", out.String())
		}
		if sim.CountCalls(http.MethodDelete, "ldapsync/12/") != 1 {
			t.Fatal("no DELETE")
		}
		if st, _ := sim.RunState(12); st != "Failure" {
			t.Fatalf("state after abort = %s", st)
		}
	})
	t.Run("abort_409_no_run_active_is_benign", func(t *testing.T) {
		sim, url := teamwiresim.Start(t, teamwiresim.Options{RunDuration: time.Minute, Orgs: []teamwiresim.Org{{ID: 12}},
			Admins: []teamwiresim.Admin{{Email: superEmail, Password: superPW, Org: 12, Superadmin: true}}})
		sim.Inject(teamwiresim.Fault{Method: "DELETE", Path: "ldapsync/12/", Status: 409, Message: "There is currently no sync run active"})
		p := newProvider(t, url, func(c *teamwire.Config) { c.Organisations = []int{12} }, ldapPW)
		ctx, cancel := context.WithCancel(ctx)
		time.AfterFunc(100*time.Millisecond, cancel)
		var out bytes.Buffer
		err := p.Run(ctx, "12", &out)
		if !errors.Is(err, context.Canceled) || strings.Contains(err.Error(), "409") {
			t.Fatalf("err = %v", err)
		}
		if !strings.Contains(out.String(), "nothing to abort") {
			t.Fatalf("output:\n%s", out.String())
		}
	})
	t.Run("after_apply_only_when_configured", func(t *testing.T) {
		sim, url := newSim(t)
		p := newProvider(t, url, nil, ldapPW)
		pl := &plan.Plan{Changes: []plan.Change{{Action: plan.Update, Kind: teamwire.KindSettings, Key: "12", ID: "12"}}}
		if err := p.AfterApply(ctx, pl, &bytes.Buffer{}); err != nil || sim.CountCalls("PUT", "ldapsync/12/") != 0 {
			t.Fatalf("err = %v, PUTs = %d", err, sim.CountCalls("PUT", "ldapsync/12/"))
		}
		p = newProvider(t, url, func(c *teamwire.Config) { c.RunAfterApply = true }, ldapPW)
		if err := p.AfterApply(ctx, pl, &bytes.Buffer{}); err != nil || sim.CountCalls("PUT", "ldapsync/12/") != 1 || sim.CountCalls("PUT", "ldapsync/13/") != 0 {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("status", func(t *testing.T) {
		_, url := newSim(t)
		p := newProvider(t, url, nil, ldapPW)
		if err := p.Run(ctx, "13", &bytes.Buffer{}); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := p.PrintStatus(ctx, &out); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"organisation 12:\n  last_run_state:     Unknown", "organisation 13:\n  last_run_state:     Success", "status_msg:         Synchronised 8 users", "progress:           100.0%", "Synchronisation finished."} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("status lacks %q:\n%s", want, out.String())
			}
		}
	})
}
