package ldap

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/ldapply/ldapply/providers/netfail"
)

// sourceKeys are the settings a network failure's message points at.
var sourceKeys = netfail.Keys{
	URL:            keyPrefix + "uri",
	CACert:         keyPrefix + "ca_cert",
	ConnectTimeout: keyPrefix + "connect_timeout",
	Timeout:        keyPrefix + "timeout",
}

// hostPort returns u's host and port, the port filled in from the scheme.
func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	port := "389"
	if u.Scheme == "ldaps" {
		port = "636"
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// address is how messages name the server: the URI with its port.
func (c *Config) address() string {
	u, err := c.parseURI()
	if err != nil {
		return c.URI
	}
	return u.Scheme + "://" + hostPort(u)
}

// netFailure classifies err, a failure of an exchange with the server
// at stage (see package netfail), and returns it as a *netfail.Error, or
// nil when it is no network failure.
func netFailure(cfg *Config, stage netfail.Stage, err error) error {
	limit := time.Duration(cfg.Timeout)
	if stage <= netfail.Handshaking {
		limit = time.Duration(cfg.ConnectTimeout)
	}
	ne := netfail.New(stage, cfg.address(), sourceKeys, limit, netCause(err))
	if ne == nil {
		return nil
	}
	return ne
}

// netCause gives go-ldap's network failures, which it reports as text,
// the standard error they stand for, so that netfail can read them: a
// timed-out operation is a deadline, a connection its reader lost is an
// unexpected end of data.
func netCause(err error) error {
	var le *goldap.Error
	text := err.Error()
	if errors.As(err, &le) && le.ResultCode != goldap.ErrorNetwork {
		return err
	}
	switch {
	case strings.Contains(text, "ldap: connection timed out"):
		return &ldapNetError{err, os.ErrDeadlineExceeded}
	case strings.Contains(text, "unable to read LDAP response packet"), strings.Contains(text, "ldap: connection closed"),
		strings.Contains(text, "ldap: response channel closed"), strings.Contains(text, "ldap: could not retrieve response"):
		return &ldapNetError{err, io.ErrUnexpectedEOF}
	}
	return err
}

// ldapNetError is a go-ldap failure with the standard error it stands for.
type ldapNetError struct{ err, std error }

func (e *ldapNetError) Error() string   { return readable(e.err).Error() }
func (e *ldapNetError) Unwrap() []error { return []error{e.err, e.std} }

// waitLog logs msg(waited) every waitEvery while an exchange waits; the
// caller stops the returned watch when the exchange ends.
func (s *Source) waitLog(msg func(waited time.Duration) string) *netfail.Watch {
	return netfail.NewWatch(s.waitEvery, func(waited time.Duration) {
		s.log.Info(msg(waited))
	})
}

// waitingFor is the log line of a connection attempt still at stage.
func waitingFor(addr string, stage netfail.Stage, waited time.Duration) string {
	label := stage.String()
	if stage == netfail.Waiting {
		label = "bind"
	}
	return fmt.Sprintf("Still waiting for %s (%s, %s so far).", addr, label, netfail.Seconds(waited))
}
