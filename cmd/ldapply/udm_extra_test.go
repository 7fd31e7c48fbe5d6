package main

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/ldapply/ldapply/fixtures/udmsim"
)

// TestUDMNoSecretInPlan: neither password, nor any generated user
// password, is in the plan file; the simulator did receive one per user.
func TestUDMNoSecretInPlan(t *testing.T) {
	e, sim := newUDMEnv(t)
	e.must(0, "plan", "--out", e.path("first.plan"))
	e.must(0, "apply", e.path("first.plan"))
	planFile, err := os.ReadFile(e.path("first.plan"))
	if err != nil {
		t.Fatal(err)
	}
	state, err := os.ReadFile(e.path("ldapply.state"))
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{testUDMPassword, testLDAPPassword, `"password"`} {
		if strings.Contains(string(planFile), secret) {
			t.Errorf("the plan file holds %q", secret)
		}
	}
	posts := 0
	for _, r := range sim.Requests() {
		if r.Method == "POST" && strings.HasPrefix(r.Path, udmsim.Users) {
			posts++
			i := strings.Index(r.Body, `"password":"`)
			if i < 0 {
				t.Fatalf("a user create without password: %s", r.Body)
			}
			pw := r.Body[i+12 : i+12+24]
			if strings.Contains(string(planFile), pw) || strings.Contains(string(state), pw) {
				t.Errorf("the generated password is stored")
			}
		}
	}
	if posts == 0 {
		t.Fatal("no user was created")
	}
}

// TestUDM422 shows the server's per-property message next to the name.
func TestUDM422(t *testing.T) {
	e, sim := newUDMEnv(t)
	sim.Inject(udmsim.Fault{Method: "POST", Path: udmsim.Users, Status: 422, Message: "Invalid", Count: 1})
	out, errs, code := e.run("sync", "--auto-approve")
	if code != 1 || !strings.Contains(out+errs, "HTTP 422") {
		t.Errorf("sync exited %d:\n%s\n%s", code, out, errs)
	}
	// A taken mailPrimaryAddress: the property message is shown.
	e2, sim2 := newUDMEnv(t)
	sim2.Seed(udmsim.Users, "cn=users,"+sim2.Base(), map[string]any{"username": "other", "lastname": "X", "mailPrimaryAddress": "alice@example.com"})
	out, errs, code = e2.run("sync", "--auto-approve")
	if code != 1 || !strings.Contains(out+errs, "alice") || !strings.Contains(out+errs, "mailPrimaryAddress: The value alice@example.com is already in use") {
		t.Errorf("sync exited %d:\n%s\n%s", code, out, errs)
	}
}

// TestUDMRenameAndMembershipOneRun renames a user and changes a group that
// holds it in the same run: UDM rewrites the group when the user is
// renamed (new ETag), which is not drift, so the run completes.
func TestUDMRenameAndMembershipOneRun(t *testing.T) {
	e, sim := newUDMEnv(t)
	e.sync()
	e.ldif(`dn: uid=carol,ou=people,dc=example,dc=com
changetype: modrdn
newrdn: uid=caroline
deleteoldrdn: 1

dn: cn=ops,ou=groups,dc=example,dc=com
changetype: modify
add: member
member: uid=dave,ou=people,dc=example,dc=com
-
`)
	out := e.sync()
	wantContains(t, out, "~> user carol -> caroline", "~ group ops", "+ dave", "0 to add, 1 to change, 1 to rename, 0 to destroy")
	if got := udmList(udmGroup(sim, "ops"), "users"); !slices.Equal(got, []string{userDN("alice"), userDN("bob"), userDN("caroline"), userDN("dave")}) {
		t.Errorf("ops users = %v", got)
	}
}

// TestUDMNewNestedGroupsOneRun creates a group and the group nested in it
// in one run (the seed's connector needs two).
func TestUDMNewNestedGroupsOneRun(t *testing.T) {
	e, sim := newUDMEnv(t)
	e.sync()
	e.ldif(`dn: cn=sre,ou=groups,dc=example,dc=com
objectClass: groupOfNames
cn: sre
member: uid=alice,ou=people,dc=example,dc=com

dn: cn=platform,ou=groups,dc=example,dc=com
objectClass: groupOfNames
cn: platform
member: cn=sre,ou=groups,dc=example,dc=com
member: uid=bob,ou=people,dc=example,dc=com
`)
	e.sync()
	if got := udmList(udmGroup(sim, "platform"), "nestedGroup"); !slices.Equal(got, []string{groupDN("sre")}) {
		t.Errorf("platform nestedGroup = %v", got)
	}
	if got := udmList(udmGroup(sim, "sre"), "memberOf"); !slices.Equal(got, []string{groupDN("platform")}) {
		t.Errorf("sre memberOf = %v", got)
	}
}

// TestUDMLostAcknowledgement: UDM creates a user but the answer is lost;
// before it would send the create again, the client finds the user by its
// key, so apply succeeds without creating it twice and the next plan is
// empty.
func TestUDMLostAcknowledgement(t *testing.T) {
	e, sim := newUDMEnv(t)
	sim.Inject(udmsim.Fault{Method: "POST", Path: udmsim.Users, Drop: true, AfterWrite: true, Count: 1})
	e.must(0, "plan", "--out", e.path("first.plan"))
	e.must(0, "apply", e.path("first.plan"))
	if out := e.must(0, "plan", "--detailed-exitcode"); !strings.Contains(out, "No changes.") {
		t.Errorf("plan after the apply is not empty:\n%s", out)
	}
	var posts int
	for _, r := range sim.Requests() {
		if r.Method == "POST" && strings.HasPrefix(r.Path, udmsim.Users) {
			posts++
		}
	}
	if n := len(sim.Objects(udmsim.Users)); n != posts || posts == 0 {
		t.Errorf("%d users after %d POSTs, want one each (the lost create was not repeated)", n, posts)
	}
}

// TestUDMValidateAndShow: validate accepts the target.udm section and
// rejects a mapped membership; show renders a UDM plan in every format.
func TestUDMValidateAndShow(t *testing.T) {
	e, _ := newUDMEnv(t)
	e.must(0, "validate")
	e.must(0, "plan", "--out", e.path("p.plan"))
	for _, f := range [][]string{{"show", e.path("p.plan")}, {"show", "--json", e.path("p.plan")}, {"show", "--markdown", e.path("p.plan")}} {
		if out := e.must(0, f...); !strings.Contains(out, "alice") || strings.Contains(out, testUDMPassword) {
			t.Errorf("%v:\n%s", f, out)
		}
	}
	cfg, err := os.ReadFile(e.config)
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(cfg), `      name: "{{ .cn }}"`, "      name: \"{{ .cn }}\"\n      users: \"{{ .member }}\"", 1)
	if err := os.WriteFile(e.config, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errs, code := e.run("validate"); code != 1 || !strings.Contains(errs, "group_properties.users") {
		t.Errorf("validate with a users template exited %d:\n%s", code, errs)
	}
}

// TestUDMLostPutAnswer: UDM performs a PUT but the answer is lost; the
// retry gets 412, finds the object already as planned, and succeeds.
func TestUDMLostPutAnswer(t *testing.T) {
	e, sim := newUDMEnv(t)
	e.sync()
	e.ldif(`dn: uid=bob,ou=people,dc=example,dc=com
changetype: modify
replace: mail
mail: robert@example.com
-

dn: uid=carol,ou=people,dc=example,dc=com
changetype: modrdn
newrdn: uid=caroline
deleteoldrdn: 1
`)
	sim.Inject(udmsim.Fault{Method: "PUT", Path: udmsim.Users, Drop: true, AfterWrite: true, Count: 2})
	e.sync()
	if got := udmUser(sim, "bob").Properties["mailPrimaryAddress"]; got != "robert@example.com" {
		t.Errorf("bob = %v", got)
	}
	if udmUser(sim, "caroline") == nil {
		t.Error("carol was not renamed")
	}
	var puts int
	for _, r := range sim.Requests() {
		if r.Method == "PUT" {
			puts++
		}
	}
	if puts != 4 {
		t.Errorf("%d PUTs, want 4 (two lost answers, two retries)", puts)
	}
}

// TestUDMMappedPassword: a password template is sensitive: shown as such,
// stored in the plan only as a hash, evaluated again at apply, sent only
// on create.
func TestUDMMappedPassword(t *testing.T) {
	e, sim := newUDMEnv(t)
	cfg, err := os.ReadFile(e.config)
	if err != nil {
		t.Fatal(err)
	}
	withPW := strings.Replace(string(cfg), `      username: "{{ .uid }}"`, "      username: \"{{ .uid }}\"\n      password: \"Init-{{ .employeeNumber }}-pw!\"", 1)
	if err := os.WriteFile(e.config, []byte(withPW), 0o600); err != nil {
		t.Fatal(err)
	}
	out := e.must(0, "plan", "--out", e.path("pw.plan"))
	wantContains(t, out, "+ password", "(sensitive value)")
	planFile, err := os.ReadFile(e.path("pw.plan"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "Init-1001-pw!") || strings.Contains(string(planFile), "Init-1001-pw!") {
		t.Fatal("the clear password is in the plan")
	}
	e.must(0, "apply", e.path("pw.plan"))
	var sent bool
	for _, r := range sim.Requests() {
		if r.Method == "POST" && strings.Contains(r.Body, `"username":"alice"`) {
			sent = strings.Contains(r.Body, `"password":"Init-1001-pw!"`)
		}
	}
	if !sent {
		t.Error("alice was not created with the mapped password")
	}
	if again := e.must(0, "plan", "--detailed-exitcode"); !strings.Contains(again, "No changes.") {
		t.Errorf("a mapped password makes a change after create:\n%s", again)
	}
	// A password changed in the source between plan and apply is refused.
	e.ldif(`dn: uid=ivan,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: ivan
cn: Ivan Ivanov
sn: Ivanov
employeeNumber: 7
`)
	e.must(0, "plan", "--out", e.path("pw2.plan"))
	e.ldif("dn: uid=ivan,ou=people,dc=example,dc=com\nchangetype: modify\nreplace: employeeNumber\nemployeeNumber: 8\n-\n")
	if out, errs, code := e.run("apply", e.path("pw2.plan")); code != 1 || !strings.Contains(out+errs, "changed since the plan was made") {
		t.Errorf("apply exited %d:\n%s\n%s", code, out, errs)
	}
}
