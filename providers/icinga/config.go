package icinga

import (
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/ldapply/ldapply/providers/endpoint"
	"github.com/ldapply/ldapply/providers/httpapi"
	"github.com/ldapply/ldapply/providers/mapping"
)

// Config is the `target.icinga` section of the configuration.
type Config struct {
	// URL is the API base, e.g.
	// https://icinga.example.com/icingaweb2/notifications/api/v1.
	URL string `yaml:"url"`
	// Username and Password are an Icinga Web 2 user with the
	// notifications/api permission; PasswordFile may replace Password.
	Username     string `yaml:"username"`
	Password     string `yaml:"password" secret:"true"`
	PasswordFile string `yaml:"password_file"`
	// AllowInsecure permits an http:// URL, which sends the password in
	// clear text; without it such a URL is an error.
	AllowInsecure bool `yaml:"allow_insecure"`
	// CACert is a PEM bundle to trust instead of the system roots.
	CACert string `yaml:"ca_cert"`
	// InsecureSkipVerify turns TLS certificate verification off (for a
	// lab only); every run logs a warning.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
	// ConnectTimeout bounds the TCP connection and the TLS handshake,
	// each; default 10s.
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
	// Timeout bounds each silence of a request once connected: the wait
	// for the answer to begin, then each pause within it; default 30s. A
	// long answer that keeps arriving (the list of every contact) is not
	// cut short.
	Timeout time.Duration `yaml:"timeout"`
	// Channel selects the contacts' default channel: a channel UUID, a
	// channel name, or a channel type (default "email").
	Channel string `yaml:"channel"`
	// IDScheme is "key" (default): contact ids are
	// UUIDv5(namespace, "contact:"+primary key), stable across renames;
	// or "blog": UUIDv5(namespace, "contact:"+username) as in the Icinga
	// blog post's script, so its users keep their contacts.
	IDScheme string `yaml:"id_scheme"`
	// Namespace is the UUIDv5 namespace; never change it after the first
	// apply.
	Namespace string `yaml:"namespace"`
	// Map holds Go text/templates over the LDAP attributes.
	Map Map `yaml:"map"`
}

// Map is the attribute mapping: each field is a text/template executed
// with the entry's attributes (first value of each) as data.
type Map struct {
	Username  string `yaml:"username"`
	FullName  string `yaml:"full_name"`
	Email     string `yaml:"email"`
	GroupName string `yaml:"group_name"`
}

// DefaultNamespace is used when target.icinga.namespace is empty.
const DefaultNamespace = "6f1d2f5e-1c9a-4c39-9a57-3f5c2a9b8e11"

// defaultMaps are the per-schema attribute mappings.
var defaultMaps = map[string]Map{
	"inetorgperson": {Username: "{{ .uid }}", FullName: "{{ or .displayName .cn }}", Email: "{{ .mail }}", GroupName: "{{ .cn }}"},
	"ad":            {Username: "{{ .sAMAccountName }}", FullName: "{{ or .displayName .cn }}", Email: "{{ .mail }}", GroupName: "{{ .cn }}"},
}

// Resolve reads password_file, fills defaults for the source schema and
// validates. Errors name the configuration key.
func (c *Config) Resolve(schema string) error {
	if err := endpoint.Resolve("target.icinga", "https://icinga.example.com/icingaweb2/notifications/api/v1", c.URL, c.AllowInsecure, c.Username, &c.Password, c.PasswordFile); err != nil {
		return err
	}
	if c.Timeout == 0 {
		c.Timeout = defaultTimeout
	} else if c.Timeout < 0 {
		return fmt.Errorf("target.icinga.timeout must be positive")
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = httpapi.DefaultConnectTimeout
	} else if c.ConnectTimeout < 0 {
		return fmt.Errorf("target.icinga.connect_timeout must be positive")
	}
	if c.Channel == "" {
		c.Channel = "email"
	}
	switch c.IDScheme {
	case "":
		c.IDScheme = "key"
	case "key", "blog":
	default:
		return fmt.Errorf("target.icinga.id_scheme %q is not supported: use key or blog", c.IDScheme)
	}
	if c.Namespace == "" {
		c.Namespace = DefaultNamespace
	}
	if _, err := uuid.Parse(c.Namespace); err != nil {
		return fmt.Errorf("target.icinga.namespace %q is not a UUID", c.Namespace)
	}
	def, ok := defaultMaps[schema]
	if !ok {
		def = defaultMaps["inetorgperson"]
	}
	for _, f := range []struct {
		key      string
		val      *string
		fallback string
	}{
		{"username", &c.Map.Username, def.Username},
		{"full_name", &c.Map.FullName, def.FullName},
		{"email", &c.Map.Email, def.Email},
		{"group_name", &c.Map.GroupName, def.GroupName},
	} {
		if *f.val == "" {
			*f.val = f.fallback
		}
		if _, err := mapping.Parse(f.key, *f.val); err != nil {
			return fmt.Errorf("target.icinga.map.%s: %w", f.key, err)
		}
	}
	return nil
}
