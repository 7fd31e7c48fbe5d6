package scim

import (
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/ldapply/ldapply/providers/endpoint"
	"github.com/ldapply/ldapply/providers/httpapi"
	"github.com/ldapply/ldapply/providers/mapping"
)

// Config is the `target.scim` section of the configuration.
type Config struct {
	// URL is the service's SCIM base URL, the one /Users and /Groups hang
	// off, e.g. https://api.example.com/scim/v2.
	URL string `yaml:"url"`
	// Token is the bearer token; TokenFile may replace it. Username and
	// Password (or PasswordFile) authenticate with HTTP Basic instead.
	Token        string `yaml:"token" secret:"true"`
	TokenFile    string `yaml:"token_file"`
	Username     string `yaml:"username"`
	Password     string `yaml:"password" secret:"true"`
	PasswordFile string `yaml:"password_file"`
	// AllowInsecure permits an http:// URL, which sends the token in
	// clear text; without it such a URL is an error.
	AllowInsecure bool `yaml:"allow_insecure"`
	// CACert is a PEM bundle to trust instead of the system roots.
	CACert string `yaml:"ca_cert"`
	// InsecureSkipVerify turns TLS certificate verification off (lab only).
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
	// ConnectTimeout bounds the TCP connection and the TLS handshake,
	// each (default 10s).
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
	// Timeout bounds each silence of a request once connected: the wait
	// for the answer to begin, then each pause within it (default 60s).
	Timeout time.Duration `yaml:"timeout"`
	// PageSize is the count asked for per list page (default 100); a
	// service may answer fewer, which is honoured.
	PageSize int `yaml:"page_size"`
	// PatchOperations caps the member changes sent in one PATCH (default
	// 100; some services refuse more).
	PatchOperations int `yaml:"patch_operations"`
	// OnDelete is what happens to a managed user gone from the
	// directory: "deactivate" (PATCH active false, the default,
	// reversible) or "delete". Groups are deleted either way.
	OnDelete string `yaml:"on_delete"`
	// UpsertOnly never deletes or deactivates anything.
	UpsertOnly bool `yaml:"upsert_only"`
	// AdoptByUsername adopts a user without an externalId whose userName
	// is the source's (case-insensitively); apply then sets its
	// externalId. Off by default: a userName is no proof of identity.
	AdoptByUsername bool `yaml:"adopt_by_username"`
	// DisableBulk never uses /Bulk, even when the service offers it.
	DisableBulk bool `yaml:"disable_bulk"`
	// UserAttributes and GroupAttributes map SCIM attribute paths to Go
	// text/templates over the LDAP attributes; only these are compared
	// and written. A path is an attribute (displayName), a sub-attribute
	// (name.givenName), emails.work (the primary work address), or an
	// enterprise extension attribute by its full URN path
	// (urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department).
	// userName (users) and displayName (groups) are required.
	UserAttributes  map[string]string `yaml:"user_attributes"`
	GroupAttributes map[string]string `yaml:"group_attributes"`
}

// Defaults and the values of on_delete.
const (
	DefaultTimeout         = 60 * time.Second
	DefaultPageSize        = 100
	DefaultPatchOperations = 100
	OnDeleteDeactivate     = "deactivate"
	OnDeleteDelete         = "delete"
)

var defaultUserAttrs = map[string]map[string]string{
	"inetorgperson": {"userName": "{{ .uid }}", "name.givenName": "{{ .givenName }}", "name.familyName": "{{ or .sn .uid }}",
		"displayName": "{{ .cn }}", "emails.work": "{{ .mail }}"},
	"ad": {"userName": "{{ .sAMAccountName }}", "name.givenName": "{{ .givenName }}", "name.familyName": "{{ or .sn .sAMAccountName }}",
		"displayName": "{{ .displayName }}", "emails.work": "{{ .mail }}"},
}

// Resolve reads token_file or password_file, fills defaults and
// validates. Errors name the configuration key.
func (c *Config) Resolve(schema string) error {
	const key = "target.scim"
	if c.URL == "" {
		return fmt.Errorf("%s.url is required, e.g. https://api.example.com/scim/v2", key)
	}
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%s.url %q is not an http(s) URL", key, c.URL)
	}
	if err := endpoint.ClearText(key, u, c.AllowInsecure); err != nil {
		return err
	}
	bearer := c.Token != "" || c.TokenFile != ""
	switch {
	case bearer && c.Username != "":
		return fmt.Errorf("%s: set token (or token_file) or username and password, not both", key)
	case c.Username != "":
		if err := endpoint.Resolve(key, "", c.URL, c.AllowInsecure, c.Username, &c.Password, c.PasswordFile); err != nil {
			return err
		}
	case c.TokenFile != "" && c.Token != "":
		return fmt.Errorf("%s: set token or token_file, not both", key)
	case c.TokenFile != "":
		b, err := os.ReadFile(c.TokenFile)
		if err != nil {
			return fmt.Errorf("%s.token_file: %w", key, err)
		}
		c.Token = strings.TrimSpace(string(b))
		if c.Token == "" {
			return fmt.Errorf("%s.token_file %s is empty", key, c.TokenFile)
		}
	case !bearer:
		return fmt.Errorf("%s.token (or token_file, or username and password) is required: the credentials ldapply sends to the SCIM service", key)
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = httpapi.DefaultConnectTimeout
	}
	if c.PageSize == 0 {
		c.PageSize = DefaultPageSize
	}
	if c.PatchOperations == 0 {
		c.PatchOperations = DefaultPatchOperations
	}
	if c.Timeout < 0 || c.ConnectTimeout < 0 || c.PageSize < 0 || c.PatchOperations < 0 {
		return fmt.Errorf("%s: timeout, connect_timeout, page_size and patch_operations must be positive", key)
	}
	if c.UserAttributes == nil {
		c.UserAttributes = defaultUserAttrs[schema]
		if c.UserAttributes == nil {
			c.UserAttributes = defaultUserAttrs["inetorgperson"]
		}
	}
	if c.GroupAttributes == nil {
		c.GroupAttributes = map[string]string{"displayName": "{{ .cn }}"}
	}
	for _, s := range []struct {
		key, name string
		m         map[string]string
	}{{"user_attributes", "userName", c.UserAttributes}, {"group_attributes", "displayName", c.GroupAttributes}} {
		if s.m[s.name] == "" {
			return fmt.Errorf("%s.%s.%s is required (it names the resource)", key, s.key, s.name)
		}
		for path, text := range s.m {
			if !supportedPath(path) {
				return fmt.Errorf("%s.%s.%s: ldapply cannot write this attribute; use an attribute, a sub-attribute (name.givenName), emails.work or an enterprise extension path", key, s.key, path)
			}
			if _, err := mapping.Parse(path, text); err != nil {
				return fmt.Errorf("%s.%s.%s: %w", key, s.key, path, err)
			}
		}
	}
	switch c.OnDelete {
	case "":
		c.OnDelete = OnDeleteDeactivate
	case OnDeleteDeactivate, OnDeleteDelete:
	default:
		return fmt.Errorf("%s.on_delete %q is not deactivate or delete", key, c.OnDelete)
	}
	return nil
}
