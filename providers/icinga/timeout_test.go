package icinga

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ldapply/ldapply/providers/httpapi"
)

// TestConnectTimeout: target.icinga.connect_timeout defaults to 10s and
// bounds the TLS handshake with a port that accepts and never answers;
// the error names the setting.
func TestConnectTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		var held []net.Conn // accepted, never answered
		for {
			c, err := ln.Accept()
			if err != nil {
				for _, c := range held {
					c.Close()
				}
				return
			}
			held = append(held, c)
		}
	}()
	cfg := Config{URL: "https://" + ln.Addr().String() + "/api/v1", Username: "u", Password: "p"}
	if err := cfg.Resolve("inetorgperson"); err != nil || cfg.ConnectTimeout != httpapi.DefaultConnectTimeout {
		t.Fatalf("Resolve: %v, connect_timeout %s; want the default %s", err, cfg.ConnectTimeout, httpapi.DefaultConnectTimeout)
	}
	c, err := NewClient(ClientConfig{URL: cfg.URL, Username: cfg.Username, Password: cfg.Password, ConnectTimeout: 200 * time.Millisecond, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = c.Channels(context.Background())
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("took %s under a 200ms connect_timeout", took)
	}
	want := "did not answer the TLS handshake within 200ms (is this port speaking TLS?); check target.icinga.url, or raise target.icinga.connect_timeout"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want one saying %q", err, want)
	}
	cfg.ConnectTimeout = -time.Second
	if err := cfg.Resolve("inetorgperson"); err == nil || !strings.Contains(err.Error(), "target.icinga.connect_timeout") {
		t.Errorf("a negative connect_timeout: %v", err)
	}
}
