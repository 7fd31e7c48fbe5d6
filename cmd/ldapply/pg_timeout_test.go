package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestStatusSilentPostgres checks the case an audit found hanging for a
// minute: state.postgres.dsn at a port that accepts and never answers.
// status gives up after state.postgres.connect_timeout, says the server
// sent nothing and which setting to raise, and never shows the password.
func TestStatusSilentPostgres(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() { io.Copy(io.Discard, c) })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	const password = "Audit-Pass-314"
	t.Setenv("LDAPPLY_CFG_TEST_PW", "s3cret")
	conf := filepath.Join(t.TempDir(), "ldapply.yaml")
	body := minimalConfig + fmt.Sprintf("state:\n  postgres:\n    dsn: postgres://ldapply:%s@%s/ldapply\n    connect_timeout: 1s\n", password, ln.Addr())
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
	want := fmt.Sprintf("postgres://%s/ldapply sent nothing for 1s", ln.Addr())
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
