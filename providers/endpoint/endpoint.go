// Package endpoint checks the settings every HTTP target shares: its
// URL and the credentials, with the password given inline or in a file;
// and it makes their HTTP transport.
package endpoint

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
)

// Resolve checks url and username, reads passwordFile into *password
// when it is set, and requires a password. key is the configuration
// section ("target.icinga") the errors name; example is a URL to show
// when url is missing.
func Resolve(key, example, rawURL, username string, password *string, passwordFile string) error {
	if rawURL == "" {
		return fmt.Errorf("%s.url is required, e.g. %s", key, example)
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%s.url %q is not an http(s) URL", key, rawURL)
	}
	if username == "" {
		return fmt.Errorf("%s.username is required", key)
	}
	if passwordFile != "" {
		if *password != "" {
			return fmt.Errorf("%s: set password or password_file, not both", key)
		}
		b, err := os.ReadFile(passwordFile)
		if err != nil {
			return fmt.Errorf("%s.password_file: %w", key, err)
		}
		*password = strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	}
	if *password == "" {
		return fmt.Errorf("%s.password (or password_file) is required", key)
	}
	return nil
}

// MaxIdlePerHost is how many idle connections to one target a transport
// keeps for reuse: more than apply ever has in flight at its default
// --parallelism (10).
const MaxIdlePerHost = 64

// ReadBuffer is the size of a connection's read buffer: a target's
// lists are tens of megabytes at 100,000 users, and Go's default of 4 KB
// read them with a system call for every 4 KB (a twentieth of an in-sync
// plan's CPU, with the LDAP source's reads).
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
