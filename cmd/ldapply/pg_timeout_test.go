package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ldapply/ldapply/fixtures/fault"
)

// TestStatusSilentPostgres checks the case an audit found hanging for a
// minute: state.postgres.dsn at a port that accepts and never answers.
// status gives up after state.postgres.connect_timeout, says the server
// sent nothing and which setting to raise, and never shows the password.
func TestStatusSilentPostgres(t *testing.T) {
	addr := fault.Silent(t)
	const password = "Audit-Pass-314"
	t.Setenv("LDAPPLY_CFG_TEST_PW", "s3cret")
	conf := filepath.Join(t.TempDir(), "ldapply.yaml")
	body := minimalConfig + fmt.Sprintf("state:\n  postgres:\n    dsn: postgres://ldapply:%s@%s/ldapply\n    connect_timeout: 1s\n", password, addr)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	out, errs, code := cli2(t, "status", "--config", conf)
	took := time.Since(start)
	t.Logf("stderr:\n%s", errs)
	if code == 0 {
		t.Fatalf("status against a silent server exited 0:\n%s", out)
	}
	want := fmt.Sprintf("postgres://%s/ldapply sent nothing for 1s", addr)
	if !strings.Contains(errs, want) || !strings.Contains(errs, "raise state.postgres.connect_timeout") {
		t.Errorf("stderr lacks %q and the setting to raise:\n%s", want, errs)
	}
	if strings.Contains(out+errs, password) {
		t.Errorf("status shows the DSN's password:\n%s%s", out, errs)
	}
	if took > 8*time.Second {
		t.Errorf("status gave up after %s; connect_timeout is 1s", took)
	}
}
