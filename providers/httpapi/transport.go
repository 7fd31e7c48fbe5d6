package httpapi

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"
)

// MaxIdlePerHost is how many idle connections to one target a transport
// keeps for reuse: more than apply ever has in flight at its default
// --parallelism (10).
const MaxIdlePerHost = 64

// ReadBuffer is the size of a connection's read buffer: a target's
// lists are tens of megabytes at 100,000 users, and Go's default of 4 KB
// reads them with a system call for every 4 KB (the LDAP source's
// bufferedConn does the same for its reads).
const ReadBuffer = 64 << 10

// Transport returns a copy of Go's default HTTP transport that keeps
// MaxIdlePerHost idle connections per host and reads through buffers of
// ReadBuffer bytes. Go's default keeps 2: with ten requests in flight,
// the other eight connections were closed after every answer and
// dialled again, which halved apply's rate and left a socket in
// TIME_WAIT per write.
func Transport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = max(t.MaxIdleConns, MaxIdlePerHost)
	t.MaxIdleConnsPerHost = MaxIdlePerHost
	t.ReadBufferSize = ReadBuffer
	return t
}

// SetConnectTimeout bounds t's TCP connections and TLS handshakes by d
// each and returns t.
func SetConnectTimeout(t *http.Transport, d time.Duration) *http.Transport {
	t.DialContext = (&net.Dialer{Timeout: d, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = d
	return t
}

// TLS returns the TLS settings of a target that trusts the CA
// certificates in the PEM file caFile, or in caPEM, instead of the
// system roots (set at most one), and that skips verification when
// insecure is set; nil when none of them is asked for.
func TLS(caFile string, caPEM []byte, insecure bool) (*tls.Config, error) {
	if caFile != "" && len(caPEM) > 0 {
		return nil, errors.New("set only one of the CA certificate file and PEM")
	}
	if caFile == "" && len(caPEM) == 0 && !insecure {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: insecure}
	if caFile != "" || len(caPEM) > 0 {
		pem, name := caPEM, "the CA PEM"
		if caFile != "" {
			var err error
			if pem, err = os.ReadFile(caFile); err != nil {
				return nil, fmt.Errorf("read CA certificate: %w", err)
			}
			name = caFile
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("no PEM certificate found in %s", name)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}
