// Package endpoint checks the settings every HTTP target shares: its
// URL and the credentials, with the password given inline or in a file.
// Their HTTP transport and requests are package httpapi's.
package endpoint

import (
	"fmt"
	"net/url"
	"os"
	"strings"
)

// Resolve checks url and username, reads passwordFile into *password
// when it is set, and requires a password. An http:// url is refused
// unless allowInsecure (see [ClearText]). key is the configuration
// section ("target.icinga") the errors name; example is a URL to show
// when url is missing.
func Resolve(key, example, rawURL string, allowInsecure bool, username string, password *string, passwordFile string) error {
	if rawURL == "" {
		return fmt.Errorf("%s.url is required, e.g. %s", key, example)
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%s.url %q is not an http(s) URL", key, rawURL)
	}
	if err := ClearText(key, u, allowInsecure); err != nil {
		return err
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

// ClearText refuses an http:// URL unless the target's allow_insecure is
// set: every request carries the password (HTTP Basic, or a login), and
// over http:// anyone on the way can read it. It treats the targets as
// source: treats ldap:// without StartTLS.
func ClearText(key string, u *url.URL, allowInsecure bool) error {
	if u.Scheme == "http" && !allowInsecure {
		return fmt.Errorf("%s.url %s is http://, so the password would travel in clear text; use https://, or set %s.allow_insecure: true to accept that (a lab or a simulator only)", key, u.Redacted(), key)
	}
	return nil
}
