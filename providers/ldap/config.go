package ldap

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
	"gopkg.in/yaml.v3"
)

// keyPrefix is where this configuration sits in ldapply's configuration
// file; Resolve's errors name keys with it.
const keyPrefix = "source."

// Config configures the LDAP source. It is the "source:" section of
// ldapply's configuration file. Call Resolve before use.
type Config struct {
	// URI is the server, ldaps://host[:port] (LDAP over TLS) or
	// ldap://host[:port], which additionally needs StartTLS or
	// AllowInsecure. The port defaults to 636 and 389.
	URI string `yaml:"uri"`
	// StartTLS upgrades an ldap:// connection to TLS with the StartTLS
	// operation before binding. It must not be set with ldaps://.
	StartTLS bool `yaml:"start_tls"`
	// AllowInsecure permits ldap:// without StartTLS, which sends the
	// bind password and all data in clear text.
	AllowInsecure bool `yaml:"allow_insecure"`
	// CACert is a PEM file of the CA certificates that may sign the
	// server's certificate; empty means the system's roots. The server
	// certificate must name the host in URI unless InsecureSkipVerify.
	CACert string `yaml:"ca_cert"`
	// InsecureSkipVerify turns TLS certificate verification off (for a
	// lab only); every run logs a warning.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
	// BindDN is the DN to bind as; empty means an anonymous session.
	BindDN string `yaml:"bind_dn"`
	// BindPassword is BindDN's password. Resolve fills it from
	// BindPasswordFile when that is set. It never appears in errors or
	// logs.
	BindPassword string `yaml:"bind_password" secret:"true"`
	// BindPasswordFile names a file holding the password; one trailing
	// newline is ignored. Set BindPassword or BindPasswordFile, not both.
	BindPasswordFile string `yaml:"bind_password_file"`
	// Schema selects the defaults for filters, keys and member
	// attributes: "inetorgperson" (OpenLDAP and the like; the default)
	// or "ad" (Active Directory).
	Schema string `yaml:"schema"`
	// ConnectTimeout bounds the TCP connection, and then StartTLS and
	// the TLS handshake together; default 10s. Written as a duration
	// such as "10s" or "1m30s".
	ConnectTimeout Duration `yaml:"connect_timeout"`
	// Timeout bounds each LDAP operation once connected: the bind, and
	// each page of a search; default 10s.
	Timeout Duration `yaml:"timeout"`
	// ConnectAttempts is how often connecting and binding is tried
	// before Read gives up; default 3. A refused or timed-out connection
	// and a server that does not answer are tried again; a bind rejected
	// for invalid credentials, a TLS handshake with a port that does not
	// speak TLS, a server certificate that fails verification and a host
	// name that does not resolve are not.
	ConnectAttempts int `yaml:"connect_attempts"`
	// ConnectDelay is the pause between connection attempts; default 5s.
	ConnectDelay Duration `yaml:"connect_delay"`
	// PageSize is the number of entries asked for per page of a search
	// (simple paged results, RFC 2696); default 500. Searches always
	// page, so server size limits do not cut results short.
	PageSize int `yaml:"page_size"`
	// Users selects the users.
	Users UserConfig `yaml:"users"`
	// Groups selects the groups.
	Groups GroupConfig `yaml:"groups"`
}

// SearchConfig selects entries.
type SearchConfig struct {
	// Base is the DN to search under (required).
	Base string `yaml:"base"`
	// Scope is "sub" (the base's whole subtree; the default) or "one"
	// (its direct children only).
	Scope string `yaml:"scope"`
	// Filter is an RFC 4515 search filter; the default depends on
	// Config.Schema.
	Filter string `yaml:"filter"`
	// Key is the attribute holding each entry's primary key, which must
	// be present, single-valued and unique; the default is entryUUID for
	// inetorgperson and objectGUID for ad.
	Key string `yaml:"key"`
}

// UserConfig selects users.
type UserConfig struct {
	SearchConfig `yaml:",inline"`
	// IncludeDisabled keeps the accounts Active Directory marks disabled
	// (bit 0x2, ACCOUNTDISABLE, of userAccountControl). By default they
	// are skipped, as if the filter excluded them, and so are dropped
	// from the groups too. Entries without userAccountControl (OpenLDAP)
	// are never skipped.
	IncludeDisabled bool `yaml:"include_disabled"`
}

// GroupConfig selects groups.
type GroupConfig struct {
	SearchConfig `yaml:",inline"`
	// Include, when not empty, limits the groups to those whose name
	// (cn) is listed. Names match exactly, apart from case.
	Include []string `yaml:"include"`
	// Exclude drops the groups whose name (cn) is listed, even when
	// Include names them too.
	Exclude []string `yaml:"exclude"`
	// RangeAttributes are the multi-valued attributes read with range
	// retrieval when the server returns them in parts, as Active
	// Directory does for groups of more than 1,500 members
	// ("member;range=0-1499"); default [member]. Every part is read
	// before Read returns, so a group of any size is read whole.
	RangeAttributes []string `yaml:"range_attributes"`
	// RangeSize, when positive, asks for the RangeAttributes in parts of
	// this many values ("member;range=0-999") instead of letting the
	// server choose; 0 (the default) lets it choose.
	RangeSize int `yaml:"range_size"`
	// Nested asks an AD server for each group's transitive user members
	// through the LDAP_MATCHING_RULE_IN_CHAIN rule
	// (memberOf:1.2.840.113556.1.4.1941:=<group>), which also follows
	// groups outside groups.base or excluded from the read. The result
	// is the group's plan.Entry.Transitive; Members stay the direct
	// members. Other servers have no such rule: the planner expands the
	// groups read, with or without this setting.
	Nested bool `yaml:"nested"`
}

// schema holds the defaults and fixed choices of one Config.Schema.
type schema struct {
	usersFilter, groupsFilter string
	key                       string
	groupName                 string   // attribute Include and Exclude match
	memberAttrs               []string // attributes holding member DNs
}

var schemas = map[string]schema{
	"inetorgperson": {
		usersFilter:  "(objectClass=inetOrgPerson)",
		groupsFilter: "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))",
		key:          "entryUUID",
		groupName:    "cn",
		memberAttrs:  []string{"member", "uniqueMember"},
	},
	"ad": {
		usersFilter:  "(&(objectCategory=person)(objectClass=user))",
		groupsFilter: "(objectClass=group)",
		key:          "objectGUID",
		groupName:    "cn",
		memberAttrs:  []string{"member"},
	},
}

// Defaults.
const (
	DefaultTimeout         = 10 * time.Second
	DefaultConnectTimeout  = 10 * time.Second
	DefaultConnectAttempts = 3
	DefaultConnectDelay    = 5 * time.Second
	DefaultPageSize        = 500
)

// Resolve reads BindPasswordFile into BindPassword, fills in defaults
// (those of Schema included) and validates c. Its errors name the
// offending YAML key, such as "source.uri: ...". Resolve may be called
// again on a resolved Config.
func (c *Config) Resolve() error {
	var errs []error
	fail := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s%s: %s", keyPrefix, key, fmt.Sprintf(format, args...)))
	}
	if c.Schema == "" {
		c.Schema = "inetorgperson"
	}
	sch, ok := schemas[c.Schema]
	if !ok {
		fail("schema", "unknown schema %q; use inetorgperson or ad", c.Schema)
		sch = schemas["inetorgperson"]
	}
	c.resolveConnection(fail)
	c.resolveCredentials(fail)
	c.resolveLimits(fail)
	c.resolveSearches(sch, fail)
	return errors.Join(errs...)
}

// failFunc records a configuration error of the key under source.
type failFunc func(key, format string, args ...any)

// resolveConnection checks the URI, its encryption and the CA file.
func (c *Config) resolveConnection(fail failFunc) {
	if u, err := c.parseURI(); err != nil {
		fail("uri", "%v", err)
	} else {
		switch {
		case u.Scheme == "ldaps" && c.StartTLS:
			fail("start_tls", "ldaps:// is already encrypted; StartTLS is for ldap:// only")
		case u.Scheme == "ldap" && !c.StartTLS && !c.AllowInsecure:
			fail("uri", "ldap:// sends the password in clear text; set %sstart_tls: true or %sallow_insecure: true", keyPrefix, keyPrefix)
		}
	}
	if c.CACert != "" {
		if _, err := loadCAs(c.CACert); err != nil {
			fail("ca_cert", "%v", err)
		}
	}
}

// resolveCredentials reads the password file and checks the bind.
func (c *Config) resolveCredentials(fail failFunc) {
	fileRead := false
	if c.BindPasswordFile != "" {
		b, err := os.ReadFile(c.BindPasswordFile)
		if err != nil {
			fail("bind_password_file", "%v", err)
		} else {
			pw := strings.TrimSuffix(string(b), "\n")
			pw = strings.TrimSuffix(pw, "\r")
			if c.BindPassword != "" && c.BindPassword != pw {
				fail("bind_password", "set either bind_password or bind_password_file, not both")
			}
			c.BindPassword = pw
			fileRead = true
		}
	}
	switch {
	case c.BindDN == "" && c.BindPassword != "":
		fail("bind_dn", "empty, but a password is set; set the DN to bind as")
	case c.BindDN != "":
		if _, err := goldap.ParseDN(c.BindDN); err != nil {
			switch {
			case c.Schema == "ad" && adLogonName(c.BindDN) != "":
				// AD accepts these in a simple bind, as sent.
			case adLogonName(c.BindDN) != "":
				fail("bind_dn", "%q is a %s, which only Active Directory accepts in a bind; set schema: ad, or give the DN to bind as", c.BindDN, adLogonName(c.BindDN))
			default:
				fail("bind_dn", "%q is not a DN: %v", c.BindDN, err)
			}
		}
		switch {
		case c.BindPassword != "":
		case fileRead:
			fail("bind_password_file", "%s is empty", c.BindPasswordFile)
		case c.BindPasswordFile == "":
			fail("bind_password", "empty; set it or bind_password_file (an empty password would make an unauthenticated bind)")
		}
	}
}

// BindAs says what the simple bind sends as its name, for validate: "the
// DN CN=…", "the user principal name svc-sync@example.com", or "" for an
// anonymous session. It assumes a resolved Config.
func (c *Config) BindAs() string {
	if c.BindDN == "" {
		return ""
	}
	if _, err := goldap.ParseDN(c.BindDN); err != nil {
		if kind := adLogonName(c.BindDN); kind != "" {
			return "the " + kind + " " + c.BindDN
		}
	}
	return "the DN " + c.BindDN
}

// adLogonName returns which of Active Directory's logon names s is, a
// "user principal name" (svc-sync@example.com) or a "down-level logon
// name" (EXAMPLE\svc-sync), or "" for neither. AD accepts both as the
// name of a simple bind.
func adLogonName(s string) string {
	if strings.ContainsAny(s, "=,") {
		return "" // a DN, or nothing AD takes
	}
	if user, domain, ok := strings.Cut(s, "@"); ok {
		if user != "" && domain != "" && !strings.ContainsAny(s, `\ `) && !strings.Contains(domain, "@") {
			return "user principal name"
		}
		return ""
	}
	if domain, user, ok := strings.Cut(s, `\`); ok && strings.TrimSpace(domain) == domain && domain != "" && user != "" && !strings.Contains(user, `\`) {
		return "down-level logon name"
	}
	return ""
}

// resolveLimits fills the timeouts and sizes left unset.
func (c *Config) resolveLimits(fail failFunc) {
	if c.Timeout == 0 {
		c.Timeout = Duration(DefaultTimeout)
	} else if c.Timeout < 0 {
		fail("timeout", "must be positive")
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = Duration(DefaultConnectTimeout)
	} else if c.ConnectTimeout < 0 {
		fail("connect_timeout", "must be positive")
	}
	if c.ConnectAttempts == 0 {
		c.ConnectAttempts = DefaultConnectAttempts
	} else if c.ConnectAttempts < 0 {
		fail("connect_attempts", "must be positive")
	}
	if c.ConnectDelay == 0 {
		c.ConnectDelay = Duration(DefaultConnectDelay)
	} else if c.ConnectDelay < 0 {
		fail("connect_delay", "must be positive")
	}
	if c.PageSize == 0 {
		c.PageSize = DefaultPageSize
	} else if c.PageSize < 0 || c.PageSize > 1<<31-1 {
		fail("page_size", "must be between 1 and 2147483647")
	}
}

// resolveSearches fills the searches from the schema's defaults and
// checks them.
func (c *Config) resolveSearches(sch schema, fail failFunc) {
	if c.Groups.RangeAttributes == nil {
		c.Groups.RangeAttributes = []string{"member"}
	}
	for i, a := range c.Groups.RangeAttributes {
		if a == "" || strings.ContainsAny(a, ";=() ") {
			fail(fmt.Sprintf("groups.range_attributes[%d]", i), "%q is not an attribute name", a)
		}
	}
	if c.Groups.RangeSize < 0 {
		fail("groups.range_size", "must not be negative")
	}
	for _, s := range []struct {
		key    string
		sc     *SearchConfig
		filter string
	}{
		{"users", &c.Users.SearchConfig, sch.usersFilter},
		{"groups", &c.Groups.SearchConfig, sch.groupsFilter},
	} {
		if s.sc.Base == "" {
			fail(s.key+".base", "required")
		} else if _, err := goldap.ParseDN(s.sc.Base); err != nil {
			fail(s.key+".base", "%q is not a DN: %v", s.sc.Base, err)
		}
		switch s.sc.Scope {
		case "":
			s.sc.Scope = "sub"
		case "sub", "one":
		default:
			fail(s.key+".scope", "%q is not a scope; use sub or one", s.sc.Scope)
		}
		if s.sc.Filter == "" {
			s.sc.Filter = s.filter
		} else if _, err := goldap.CompileFilter(s.sc.Filter); err != nil {
			fail(s.key+".filter", "%q is not a valid LDAP filter (RFC 4515; parenthesise it): %v", s.sc.Filter, err)
		}
		if s.sc.Key == "" {
			s.sc.Key = sch.key
		}
	}
	for i, n := range c.Groups.Include {
		if n == "" {
			fail(fmt.Sprintf("groups.include[%d]", i), "empty group name")
		}
	}
	for i, n := range c.Groups.Exclude {
		if n == "" {
			fail(fmt.Sprintf("groups.exclude[%d]", i), "empty group name")
		}
	}
}

// parseURI checks URI and returns it parsed.
func (c *Config) parseURI() (*url.URL, error) {
	if c.URI == "" {
		return nil, errors.New("required, such as ldaps://ldap.example.com")
	}
	u, err := url.Parse(c.URI)
	if err != nil {
		return nil, fmt.Errorf("%q is not a URI", c.URI)
	}
	if u.Scheme != "ldap" && u.Scheme != "ldaps" {
		return nil, fmt.Errorf("%q: the scheme must be ldaps:// or ldap://", c.URI)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("%q names no host", c.URI)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return nil, fmt.Errorf("%q: give only scheme, host and port; the bases go in users.base and groups.base", c.URI)
	}
	return u, nil
}

// tlsConfig returns the TLS settings for the server in URI: verify the
// certificate against CACert (or the system roots) and the URI's host.
func (c *Config) tlsConfig(u *url.URL) (*tls.Config, error) {
	cfg := &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.InsecureSkipVerify}
	if c.CACert != "" {
		pool, err := loadCAs(c.CACert)
		if err != nil {
			return nil, fmt.Errorf("%sca_cert: %w", keyPrefix, err)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

func loadCAs(file string) (*x509.CertPool, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s holds no PEM certificate", file)
	}
	return pool, nil
}

// Duration is a time.Duration that YAML spells as a string such as "10s",
// "1m30s" or "500ms" (yaml.v3 would otherwise read only integers, in
// nanoseconds). A number without a unit is an error, except 0.
type Duration time.Duration

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a duration such as 10s", n.Line)
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration such as 10s, 1m30s or 500ms", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML implements yaml.Marshaler.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// String returns the duration as time.Duration formats it.
func (d Duration) String() string { return time.Duration(d).String() }
