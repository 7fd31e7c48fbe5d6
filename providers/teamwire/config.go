package teamwire

import (
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/ldapply/ldapply/providers/endpoint"
	"github.com/ldapply/ldapply/providers/httpapi"
	"github.com/ldapply/ldapply/providers/ldap"
)

// Config is the `target.teamwire` section of the configuration.
type Config struct {
	// URL is the Enterprise API base, e.g.
	// https://teamwire.example.com/admin-api; requests go to
	// URL/v<api_version>/admin/….
	URL string `yaml:"url"`
	// APIVersion is the Enterprise API version in the paths; default "1".
	APIVersion string `yaml:"api_version"`
	// Email and Password are the admin's login; PasswordFile may replace
	// Password.
	Email        string `yaml:"email"`
	Password     string `yaml:"password" secret:"true"`
	PasswordFile string `yaml:"password_file"`
	// TOTPSecret is the admin's base32 TOTP secret (RFC 6238); when set,
	// every login sends a freshly generated code. TOTPSecretFile may
	// replace it.
	TOTPSecret     string `yaml:"totp_secret" secret:"true"`
	TOTPSecretFile string `yaml:"totp_secret_file"`
	// AllowInsecure permits an http:// URL, which sends the login's
	// password in clear text; without it such a URL is an error.
	AllowInsecure bool `yaml:"allow_insecure"`
	// CACert is a PEM bundle to trust instead of the system roots.
	CACert string `yaml:"ca_cert"`
	// ConnectTimeout bounds the TCP connection and the TLS handshake,
	// each; default 10s.
	ConnectTimeout ldap.Duration `yaml:"connect_timeout"`
	// Timeout bounds each silence of a request once connected: the wait
	// for the answer to begin, then each pause within it; default 30s.
	Timeout ldap.Duration `yaml:"timeout"`
	// Organisations lists the organisation ids whose settings ldapply
	// manages (Superadmins only). Empty means the admin's own
	// organisation, addressed without an id.
	Organisations []int `yaml:"organisations"`
	// Settings are desired LDAP settings by their Enterprise API name.
	// They win over the values derived from source:; keys neither set
	// here nor derived are left as they are.
	Settings map[string]any `yaml:"settings"`
	// BindPassword is the bindpw to send when settings.binddn names
	// another account than source.bind_dn; default source.bind_password.
	BindPassword     string `yaml:"bind_password" secret:"true"`
	BindPasswordFile string `yaml:"bind_password_file"`
	// FromSource derives uri, binddn, bindpw, schema, the base DNs, the
	// filters and the include/exclude lists from source:; default true.
	FromSource *bool `yaml:"from_source"`
	// RunAfterApply starts a sync run for every organisation whose
	// settings an apply changed, and follows it to its end.
	RunAfterApply bool `yaml:"run_after_apply"`
	// PollInterval is the wait between two status reads while following a
	// run; default 2s.
	PollInterval ldap.Duration `yaml:"poll_interval"`
	// RunTimeout bounds how long a run is followed; default 1h. The run
	// itself goes on in Teamwire.
	RunTimeout ldap.Duration `yaml:"run_timeout"`
}

// Defaults.
const (
	DefaultAPIVersion   = "1"
	DefaultPollInterval = 2 * time.Second
	DefaultRunTimeout   = time.Hour
	DefaultTimeout      = 30 * time.Second
)

// Resolve reads the *_file settings, fills defaults and validates c
// without contacting anything. Errors name the configuration key.
func (c *Config) Resolve(schema string) error {
	if c.URL == "" {
		return fmt.Errorf("target.teamwire.url is required, e.g. https://teamwire.example.com/admin-api")
	}
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("target.teamwire.url %q is not an http(s) URL without query", c.URL)
	}
	if err := endpoint.ClearText("target.teamwire", u, c.AllowInsecure); err != nil {
		return err
	}
	if c.APIVersion == "" {
		c.APIVersion = DefaultAPIVersion
	}
	if strings.ContainsAny(c.APIVersion, "/?# ") {
		return fmt.Errorf("target.teamwire.api_version %q is not a version such as 1", c.APIVersion)
	}
	if c.Email == "" {
		return fmt.Errorf("target.teamwire.email is required: the admin account ldapply logs in as")
	}
	for _, f := range []struct {
		key, fileKey string
		val          *string
		file         string
	}{
		{"password", "password_file", &c.Password, c.PasswordFile},
		{"totp_secret", "totp_secret_file", &c.TOTPSecret, c.TOTPSecretFile},
		{"bind_password", "bind_password_file", &c.BindPassword, c.BindPasswordFile},
	} {
		if f.file == "" {
			continue
		}
		if *f.val != "" {
			return fmt.Errorf("target.teamwire: set %s or %s, not both", f.key, f.fileKey)
		}
		b, err := os.ReadFile(f.file)
		if err != nil {
			return fmt.Errorf("target.teamwire.%s: %w", f.fileKey, err)
		}
		*f.val = strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	}
	if c.Password == "" {
		return fmt.Errorf("target.teamwire.password (or password_file) is required")
	}
	if c.TOTPSecret != "" {
		if _, err := decodeSecret(c.TOTPSecret); err != nil {
			return fmt.Errorf("target.teamwire.totp_secret: %w", err)
		}
	}
	seen := map[int]bool{}
	for i, id := range c.Organisations {
		if id <= 0 {
			return fmt.Errorf("target.teamwire.organisations[%d]: %d is not an organisation id", i, id)
		}
		if seen[id] {
			return fmt.Errorf("target.teamwire.organisations[%d]: organisation %d is listed twice", i, id)
		}
		seen[id] = true
	}
	if c.FromSource == nil {
		t := true
		c.FromSource = &t
	}
	if _, err := settingsFromConfig(c.Settings); err != nil {
		return err
	}
	if c.PollInterval == 0 {
		c.PollInterval = ldap.Duration(DefaultPollInterval)
	} else if c.PollInterval < 0 {
		return fmt.Errorf("target.teamwire.poll_interval must be positive")
	}
	if c.Timeout == 0 {
		c.Timeout = ldap.Duration(DefaultTimeout)
	} else if c.Timeout < 0 {
		return fmt.Errorf("target.teamwire.timeout must be positive")
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = ldap.Duration(httpapi.DefaultConnectTimeout)
	} else if c.ConnectTimeout < 0 {
		return fmt.Errorf("target.teamwire.connect_timeout must be positive")
	}
	if c.RunTimeout == 0 {
		c.RunTimeout = ldap.Duration(DefaultRunTimeout)
	} else if c.RunTimeout < 0 {
		return fmt.Errorf("target.teamwire.run_timeout must be positive")
	}
	_ = schema // the source schema is validated by source:, and settings.schema above
	return nil
}

// organisations returns the organisation ids as plan keys; [OwnOrg]
// stands for the admin's own organisation.
func (c *Config) organisations() []string {
	if len(c.Organisations) == 0 {
		return []string{OwnOrg}
	}
	var out []string
	for _, id := range slices.Sorted(slices.Values(c.Organisations)) {
		out = append(out, fmt.Sprint(id))
	}
	return out
}
