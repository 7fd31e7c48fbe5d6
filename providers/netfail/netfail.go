// Package netfail is the one place ldapply tells how a network exchange
// failed: it never connected, the TLS handshake failed, the server
// accepted the connection and then said nothing, or the connection was
// cut off mid-read. The HTTP targets (package httpapi) and the LDAP
// source report their failures through it, so that each reads the same
// and says which configuration key to check, and so that one rule
// decides what is worth another attempt.
package netfail

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"syscall"
	"time"
)

// Stage is how far an exchange had got when it failed or while it waits.
type Stage int32

// The stages of an exchange, in order.
const (
	// Connecting is the TCP connection being set up.
	Connecting Stage = iota
	// Handshaking is the TLS handshake (after StartTLS, for LDAP).
	Handshaking
	// Waiting is the request sent and no answer yet.
	Waiting
	// Reading is the answer arriving.
	Reading
)

var stageNames = [...]string{"connecting", "TLS handshake", "waiting for the answer", "reading the answer"}

func (s Stage) String() string {
	if s >= 0 && int(s) < len(stageNames) {
		return stageNames[s]
	}
	return fmt.Sprintf("Stage(%d)", int(s))
}

// Class is what kind of network failure an error is.
type Class int

// The classes of failure.
const (
	// Other is not a network failure this package knows.
	Other Class = iota
	// NeverConnected: the TCP connection was refused, timed out, or the
	// host could not be found.
	NeverConnected
	// HandshakeFailed: the port accepted the connection but did not
	// complete a TLS handshake (it speaks something else, such as plain
	// LDAP or HTTP). Permanent.
	HandshakeFailed
	// CertificateRefused: the server's certificate failed verification.
	// Permanent.
	CertificateRefused
	// Silent: the server accepted the connection and then sent nothing
	// for the configured timeout.
	Silent
	// CutOff: the connection ended before the answer was complete.
	CutOff
)

var classNames = [...]string{"other", "never connected", "TLS handshake failed", "certificate refused", "silent", "cut off"}

func (c Class) String() string {
	if c >= 0 && int(c) < len(classNames) {
		return classNames[c]
	}
	return fmt.Sprintf("Class(%d)", int(c))
}

// Classify returns the class of err, a failure at stage. It is the only
// function in ldapply that reads network errors; a caller whose library
// reports them as text first turns them into the standard errors
// (os.ErrDeadlineExceeded, io.ErrUnexpectedEOF).
func Classify(stage Stage, err error) Class {
	switch {
	case err == nil || errors.Is(err, context.Canceled):
		return Other
	case certificate(err):
		return CertificateRefused
	case stage == Connecting:
		return NeverConnected
	case timeout(err):
		return Silent
	case stage == Handshaking:
		return HandshakeFailed
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNABORTED):
		return CutOff
	}
	return Other
}

// Transient reports whether err, a failure without an answer whose
// stage is unknown, may go away by itself: a refused or reset
// connection, a connection closed early, or a timeout. The caller's
// cancellation never is.
func Transient(err error) bool {
	if errors.Is(err, syscall.ECONNREFUSED) {
		return true
	}
	c := Classify(Reading, err)
	return c == Silent || c == CutOff
}

// timeout reports whether err is a deadline or a timeout.
func timeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func certificate(err error) bool {
	var (
		cv *tls.CertificateVerificationError
		ua x509.UnknownAuthorityError
		he x509.HostnameError
		ci x509.CertificateInvalidError
	)
	return errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci)
}

// Keys name the configuration settings a hint points at, such as
// "target.icinga.url" and "target.icinga.connect_timeout".
type Keys struct {
	URL, CACert, ConnectTimeout, Timeout string
}

// KeysOf returns the usual keys of a configuration section: its url,
// ca_cert, connect_timeout and timeout.
func KeysOf(section string) Keys {
	return Keys{URL: section + ".url", CACert: section + ".ca_cert", ConnectTimeout: section + ".connect_timeout", Timeout: section + ".timeout"}
}

// Error is a classified network failure. Its message is one sentence
// saying what happened, with a hint naming the setting to check, and the
// cause.
type Error struct {
	Class Class
	Stage Stage
	// Addr is what was contacted: "https://icinga.example.com" or
	// "ldaps://dc1.example.com:636".
	Addr string
	Keys Keys
	// Timeout is the bound that ran out, for a timeout.
	Timeout time.Duration
	Err     error
}

// New classifies err, a failure at stage, and returns it as an *Error,
// or nil when it is no network failure this package knows (Class
// Other). limit is the bound that applied at that stage.
func New(stage Stage, addr string, keys Keys, limit time.Duration, err error) *Error {
	c := Classify(stage, err)
	if c == Other {
		return nil
	}
	return &Error{Class: c, Stage: stage, Addr: addr, Keys: keys, Timeout: limit, Err: err}
}

// As returns the *Error in err's chain, or nil.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// Permanent reports whether trying again cannot help: a port that does
// not speak TLS, a refused certificate, a host name that does not
// resolve. A refused or timed-out connection is not permanent: a server
// that restarts refuses connections for a moment.
func (e *Error) Permanent() bool {
	switch e.Class {
	case HandshakeFailed, CertificateRefused:
		return true
	case NeverConnected:
		var dns *net.DNSError
		return errors.As(e.Err, &dns) && dns.IsNotFound
	}
	return false
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Error reads "<what happened>; <hint>: <cause>".
func (e *Error) Error() string {
	return e.Sentence() + ": " + e.Cause().Error()
}

// Cause is the innermost error worth showing: Go's URL and network
// operation wrappers repeat what the sentence already says.
func (e *Error) Cause() error { return cause(e.Err) }

// Sentence is the message without its cause.
func (e *Error) Sentence() string {
	k := e.Keys
	switch e.Class {
	case NeverConnected:
		if timeout(e.Err) {
			return fmt.Sprintf("never connected to %s: no answer to the connection request within %s; check %s, a firewall on the way, or raise %s", e.Addr, e.Timeout, k.URL, k.ConnectTimeout)
		}
		return fmt.Sprintf("never connected to %s; check %s and that the server is running and reachable", e.Addr, k.URL)
	case HandshakeFailed:
		return fmt.Sprintf("TLS handshake with %s failed (is this port speaking TLS?); check the scheme and port of %s", e.Addr, k.URL)
	case CertificateRefused:
		return fmt.Sprintf("the TLS certificate of %s was refused; check %s and that the certificate names the host of %s", e.Addr, k.CACert, k.URL)
	case Silent:
		if e.Stage == Handshaking {
			return fmt.Sprintf("%s accepted the connection but did not answer the TLS handshake within %s (is this port speaking TLS?); check %s, or raise %s", e.Addr, e.Timeout, k.URL, k.ConnectTimeout)
		}
		return fmt.Sprintf("%s sent nothing for %s (%s); check that %s is the right server, or raise %s", e.Addr, e.Timeout, e.Stage, k.URL, k.Timeout)
	case CutOff:
		return fmt.Sprintf("the connection to %s was cut off mid-read; check the server's log and any proxy or load balancer between ldapply and %s", e.Addr, k.URL)
	}
	return fmt.Sprintf("%s failed (%s)", e.Addr, e.Stage)
}

// cause returns the innermost error worth showing: Go's URL and network
// operation wrappers repeat what the sentence already says.
func cause(err error) error {
	for {
		var ue *url.Error
		var oe *net.OpError
		switch {
		case errors.As(err, &ue) && ue.Err != nil:
			err = ue.Err
		case errors.As(err, &oe) && oe.Err != nil:
			err = oe.Err
		default:
			return err
		}
	}
}
