package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ldapply/ldapply/fixtures/teamwiresim"
)

const (
	twLDAPPassword = "tw-ldap-Bind-77"
	twPassword     = "tw-admin-Secret-5"
	twTOTP         = "JBSWY3DPEHPK3PXP"
)

// twEnv is an end-to-end setup for the Teamwire target: the simulator, a
// configuration whose source is never contacted (the target is
// sourceless) and a state in a temp dir.
type twEnv struct {
	t      *testing.T
	sim    *teamwiresim.Server
	dir    string
	config string
	out    strings.Builder // everything the CLI printed, for secret checks
}

func newTWEnv(t *testing.T, runDuration time.Duration, extraTarget string) *twEnv {
	t.Helper()
	e := &twEnv{t: t, dir: t.TempDir()}
	var url string
	e.sim, url = teamwiresim.Start(t, teamwiresim.Options{
		RunDuration: runDuration,
		Orgs:        []teamwiresim.Org{{ID: 12, Name: "Example"}, {ID: 13, Name: "Second"}},
		Admins:      []teamwiresim.Admin{{Email: "ops-bot@example.com", Password: twPassword, Org: 12, Superadmin: true, TOTPSecret: twTOTP}},
	})
	e.sim.SetSetting(12, "bindpw", "hand-set-Password")
	e.config = filepath.Join(e.dir, "ldapply.yaml")
	cfg := fmt.Sprintf(`source:
  uri: ldap://127.0.0.1:9
  allow_insecure: true
  bind_dn: cn=svc-sync,dc=example,dc=com
  bind_password: ${LDAPPLY_TEST_TW_LDAP_PASSWORD}
  users:  { base: "ou=people,dc=example,dc=com" }
  groups: { base: "ou=groups,dc=example,dc=com", include: [ops, dev] }
target:
  teamwire:
    url: %s
    allow_insecure: true
    api_version: 1
    email: ops-bot@example.com
    password: ${LDAPPLY_TEST_TW_PASSWORD}
    totp_secret: ${LDAPPLY_TEST_TW_TOTP}
    organisations: [12, 13]
    poll_interval: 20ms
    settings:
      synchronisation_interval: 30
      group_is_public_attr: extensionAttribute1
      user_profile_department_attr: department
%s
state:
  path: %s
`, url, extraTarget, filepath.Join(e.dir, "ldapply.state"))
	if err := os.WriteFile(e.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("LDAPPLY_TEST_TW_LDAP_PASSWORD", twLDAPPassword)
	t.Setenv("LDAPPLY_TEST_TW_PASSWORD", twPassword)
	t.Setenv("LDAPPLY_TEST_TW_TOTP", twTOTP)
	t.Setenv("NO_COLOR", "1")
	t.Setenv("LOG_LEVEL", "DEBUG")
	return e
}

func (e *twEnv) path(name string) string { return filepath.Join(e.dir, name) }

// must runs the CLI in-process and fails unless it exits with want.
func (e *twEnv) must(want int, args ...string) (stdout, stderr string) {
	e.t.Helper()
	full := []string{"ldapply"}
	switch args[0] {
	case "show":
		full = append(full, args...)
	case "teamwire":
		full = append(append(full, args[0], args[1], "--config", e.config), args[2:]...)
	default:
		full = append(append(full, args[0], "--config", e.config), args[1:]...)
	}
	var out, errb bytes.Buffer
	code := Main(full, &out, &errb)
	e.out.WriteString(out.String() + errb.String())
	if code != want {
		e.t.Fatalf("ldapply %s exited %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, out.String(), errb.String())
	}
	return out.String(), errb.String()
}

func gunzipFile(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func wantAll(t *testing.T, s string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(s, w) {
			t.Errorf("output lacks %q:\n%s", w, s)
		}
	}
}

func TestTeamwireEndToEnd(t *testing.T) {
	e := newTWEnv(t, 200*time.Millisecond, "    run_after_apply: true")

	out, _ := e.must(2, "plan", "--out", e.path("tw.plan"), "--detailed-exitcode")
	wantAll(t, out,
		"target teamwire http://",
		"<= settings organisation 12 (key 12)",
		`~ synchronisation_interval     = "0" -> "30"`,
		`~ groups_includelist           = "" -> "ops,dev"`,
		`~ uri                          = "" -> "ldap://127.0.0.1:9"`,
		`~ bindpw                       = (sensitive value changed)`,
		"Plan: 0 to add, 2 to adopt, 0 to change, 0 to rename, 0 to destroy.")

	t.Run("show", func(t *testing.T) {
		text, _ := e.must(0, "show", e.path("tw.plan"))
		wantAll(t, text, "(sensitive value changed)", "<= settings organisation 13 (key 13)")
		js, _ := e.must(0, "show", "--json", e.path("tw.plan"))
		wantAll(t, js, `"name":"bindpw","sensitive":true`)
		md, _ := e.must(0, "show", "--markdown", e.path("tw.plan"))
		// plan.plural appends "s" to the kind name; accept either form.
		wantAll(t, md, "<details><summary>2 settings")
	})

	t.Run("apply_and_run", func(t *testing.T) {
		out, _ := e.must(0, "apply", e.path("tw.plan"))
		wantAll(t, out, "Apply complete! Objects: 0 added, 2 adopted",
			"Started an LDAP sync run of organisation 12.", "organisation 12: progress ",
			"WARNING  User uid=nomail has no email address", "Sync run of organisation 12 ended: Success",
			"Sync run of organisation 13 ended: Success")
		s := e.sim.Settings(12)
		if s["bindpw"] != twLDAPPassword || s["synchronisation_interval"] != int64(30) || s["user_profile_department_attr"] != "department" {
			t.Fatalf("settings after apply: %v", s)
		}
	})

	t.Run("idempotent", func(t *testing.T) {
		out, _ := e.must(0, "plan", "--detailed-exitcode")
		wantAll(t, out, "No changes.")
	})

	t.Run("status", func(t *testing.T) {
		out, _ := e.must(0, "teamwire", "status")
		wantAll(t, out, "organisation 12:\n  last_run_state:     Success", "last_run_timestamp: 20", "status_msg:         Synchronised", "progress:           100.0%", "INFO     Synchronisation finished.")
	})

	t.Run("stale_secret_refused", func(t *testing.T) {
		e.sim.SetSetting(13, "bindpw", "changed-in-the-dashboard")
		out, _ := e.must(2, "plan", "--out", e.path("stale.plan"), "--detailed-exitcode")
		wantAll(t, out, "~ settings organisation 13", "(sensitive value changed)", "Plan: 0 to add, 1 to change, 0 to rename, 0 to destroy.")
		t.Setenv("LDAPPLY_TEST_TW_LDAP_PASSWORD", "rotated-Password-2")
		posts := e.sim.CountCalls("POST", "ldapsettings/13/")
		_, errs := e.must(1, "apply", e.path("stale.plan"))
		wantAll(t, errs, "the bind password is not the one the plan was made with; nothing was sent, run plan again")
		if e.sim.CountCalls("POST", "ldapsettings/13/") != posts {
			t.Fatal("apply sent the settings although the secret changed")
		}
		if e.sim.Settings(13)["bindpw"] != "changed-in-the-dashboard" {
			t.Fatal("bindpw changed")
		}
	})

	t.Run("secret_never_printed_or_stored", func(t *testing.T) {
		files := []string{gunzipFile(t, e.path("tw.plan")), gunzipFile(t, e.path("stale.plan"))}
		st, err := os.ReadFile(e.path("ldapply.state"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, string(st), e.out.String())
		for _, secret := range []string{twLDAPPassword, "rotated-Password-2", "hand-set-Password", "changed-in-the-dashboard", twPassword, twTOTP} {
			for i, f := range files {
				if strings.Contains(f, secret) {
					t.Errorf("secret %q found in output %d", secret, i)
				}
			}
		}
	})
}

func TestTeamwireValidation(t *testing.T) {
	for name, tc := range map[string]struct{ extra, want string }{
		"unknown_setting":             {"      synchronisation_interval_x: 1", "not a Teamwire LDAP setting"},
		"groups_whitelist_deprecated": {"      groups_whitelist: ops", "target.teamwire.settings.groups_whitelist is deprecated by Teamwire and will be removed; use groups_includelist instead"},
		"schema_unknown":              {"      schema: novell", "use inetorgperson or ad"},
	} {
		t.Run(name, func(t *testing.T) {
			e := newTWEnv(t, time.Second, tc.extra)
			_, errs := e.must(1, "validate")
			wantAll(t, errs, tc.want)
		})
	}
	t.Run("interval_7_rejected_before_sending", func(t *testing.T) {
		e := newTWEnv(t, time.Second, "")
		b, _ := os.ReadFile(e.config)
		os.WriteFile(e.config, bytes.Replace(b, []byte("synchronisation_interval: 30"), []byte("synchronisation_interval: 7"), 1), 0o600)
		_, errs := e.must(1, "plan")
		wantAll(t, errs, "target.teamwire.settings.synchronisation_interval: 7 is not a multiple of 5")
		if len(e.sim.Calls()) != 0 {
			t.Fatal("requests were sent")
		}
	})
}

// TestTeamwireInterruptAbortsRun: Ctrl-C while apply follows a run aborts
// the run with DELETE and exits 130.
func TestTeamwireInterruptAbortsRun(t *testing.T) {
	e := newTWEnv(t, time.Minute, "    run_after_apply: true")
	e.must(2, "plan", "--out", e.path("tw.plan"), "--detailed-exitcode")
	cmd := exec.Command(os.Args[0], "apply", "--config", e.config, e.path("tw.plan"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Env = append(os.Environ(), "LDAPPLY_TEST_RUN_MAIN=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if st, _ := e.sim.RunState(12); st == "Running" {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no run started:\n%s", out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	if code := exitStatus(err); code != 130 {
		t.Fatalf("exit %d, want 130:\n%s", code, out.String())
	}
	wantAll(t, out.String(), "Aborted the sync run of organisation 12.", "interrupted")
	if st, _ := e.sim.RunState(12); st != "Failure" {
		t.Fatalf("run state after abort = %s", st)
	}
	if e.sim.CountCalls("PUT", "ldapsync/13/") != 0 {
		t.Fatal("a run of organisation 13 was started after the interrupt")
	}
	// The settings were applied and recorded: the next plan is empty.
	outPlan, _ := e.must(0, "plan", "--detailed-exitcode")
	wantAll(t, outPlan, "No changes.")
}
