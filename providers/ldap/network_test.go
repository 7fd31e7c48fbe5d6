package ldap_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ldapply/ldapply/fixtures/slapd"
	"github.com/ldapply/ldapply/providers/ldap"
	"github.com/ldapply/ldapply/providers/netfail"

	"github.com/ldapply/ldapply/fixtures/fault"
)

// hasPrefix reports whether one of msgs starts with prefix.
func hasPrefix(msgs []string, prefix string) bool {
	for _, m := range msgs {
		if strings.HasPrefix(m, prefix) {
			return true
		}
	}
	return false
}

// TestSilentServer: a port that accepts the connection and never
// answers is logged while the bind (or, anonymous, the search) waits,
// then fails within the timeout with its own message, and the read is
// not started over as if it had been cut off.
func TestSilentServer(t *testing.T) {
	t.Parallel()
	uri := "ldap://" + fault.Silent(t)
	for name, tc := range map[string]struct {
		bindDN, bindPW, waiting string
	}{
		"bind":      {svcDN, svcPW, "Still waiting for " + uri + " (bind, "},
		"anonymous": {"", "", "Still waiting for the LDAP search of users under " + people + " (page 1, "},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg := ldap.Config{
				URI: uri, AllowInsecure: true, BindDN: tc.bindDN, BindPassword: tc.bindPW,
				Timeout: ldap.Duration(200 * time.Millisecond), ConnectAttempts: 2, ConnectDelay: ldap.Duration(time.Millisecond),
				Users:  ldap.UserConfig{SearchConfig: ldap.SearchConfig{Base: people}},
				Groups: ldap.GroupConfig{SearchConfig: ldap.SearchConfig{Base: groupsOU}},
			}
			logs := &logRecorder{}
			src := ldap.New(cfg, slog.New(logs))
			ldap.SetWaitEvery(src, 20*time.Millisecond)
			start := time.Now()
			_, err := src.Read(context.Background())
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("took %s under a 200ms timeout", took)
			}
			want := uri + " sent nothing for 200ms (waiting for the answer); check that source.uri is the right server, or raise source.timeout"
			if ne := netfail.As(err); ne == nil || ne.Class != netfail.Silent || !strings.Contains(err.Error(), want) {
				t.Errorf("error %v, want one saying %q", err, want)
			}
			if !hasPrefix(logs.messages(), tc.waiting) {
				t.Errorf("no line %q in the log: %q", tc.waiting, logs.messages())
			}
			if name == "bind" && hasPrefix(logs.messages(), "ldap: the connection to") {
				t.Errorf("a read that never connected was called cut off: %q", logs.messages())
			}
		})
	}
}

// TestLDAPSAtPlainPort: ldaps:// pointed at slapd's plain LDAP port
// fails once, without retrying, and says the port may not speak TLS.
func TestLDAPSAtPlainPort(t *testing.T) {
	t.Parallel()
	s := slapd.StartT(t, slapd.Options{LDIF: baseLDIF})
	cfg := config(s)
	cfg.URI = strings.Replace(s.URL, "ldap://", "ldaps://", 1)
	cfg.AllowInsecure = false
	cfg.ConnectAttempts, cfg.ConnectDelay = 9, ldap.Duration(time.Millisecond)
	logs := &logRecorder{}
	_, err := ldap.New(cfg, slog.New(logs)).Read(context.Background())
	want := "ldap: TLS handshake with " + cfg.URI + " failed (is this port speaking TLS?); check the scheme and port of source.uri: "
	if ne := netfail.As(err); ne == nil || ne.Class != netfail.HandshakeFailed || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("error %v, want one starting %q", err, want)
	}
	if hasPrefix(logs.messages(), "Connecting to the LDAP server failed; trying again.") {
		t.Errorf("a permanent failure was retried: %q", logs.messages())
	}
}
