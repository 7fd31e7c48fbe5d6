package udm

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/ldapply/ldapply/providers/endpoint"
	"github.com/ldapply/ldapply/providers/mapping"
)

// Config is the `target.udm` section of the configuration. Its keys map
// one to one onto the udm-directory-connector's `udm:` section (see
// docs/udm.md).
type Config struct {
	// URL is the UDM REST API root, e.g. https://ucs.example.com/univention/udm/.
	URL string `yaml:"url"`
	// Username and Password authenticate with HTTP Basic; PasswordFile may
	// replace Password.
	Username     string `yaml:"username"`
	Password     string `yaml:"password" secret:"true"`
	PasswordFile string `yaml:"password_file"`
	// AllowInsecure permits an http:// URL, which sends the password in
	// clear text; without it such a URL is an error.
	AllowInsecure bool `yaml:"allow_insecure"`
	// CACert is a PEM bundle to trust instead of the system roots.
	CACert string `yaml:"ca_cert"`
	// InsecureSkipVerify turns TLS certificate verification off (lab only).
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
	// ConnectTimeout bounds the TCP and TLS handshake (default 6s);
	// ReadTimeout bounds one request with its answer (default 30m, the
	// connector's). Timeout is the same as ReadTimeout under the name
	// every target uses; set at most one of them.
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
	ReadTimeout    time.Duration `yaml:"read_timeout"`
	Timeout        time.Duration `yaml:"timeout"`
	// UserOU and GroupOU are the containers new users and groups are
	// created in and where ldapply looks for them.
	UserOU  string `yaml:"user_ou"`
	GroupOU string `yaml:"group_ou"`
	// UserKeyProperty and GroupKeyProperty hold the source primary key on
	// the UCS object (default univentionObjectIdentifier).
	UserKeyProperty  string `yaml:"user_key_property"`
	GroupKeyProperty string `yaml:"group_key_property"`
	// UserProperties and GroupProperties map UDM property names to Go
	// text/templates over the LDAP attributes. Only these properties are
	// compared and written. username (users) and name (groups) are
	// required. A user_properties.password template is sensitive: it is
	// written only when the user is created, the plan stores a salted
	// hash of it, and apply reads the source again for the clear value.
	// Without one, a random password is generated at apply.
	UserProperties  map[string]string `yaml:"user_properties"`
	GroupProperties map[string]string `yaml:"group_properties"`
}

// Defaults.
const (
	DefaultKeyProperty    = "univentionObjectIdentifier"
	DefaultConnectTimeout = 6 * time.Second
	DefaultReadTimeout    = 30 * time.Minute
)

var defaultUserProps = map[string]map[string]string{
	"inetorgperson": {"username": "{{ .uid }}", "firstname": "{{ .givenName }}", "lastname": "{{ or .sn .uid }}", "description": "{{ .description }}"},
	"ad":            {"username": "{{ .sAMAccountName }}", "firstname": "{{ .givenName }}", "lastname": "{{ or .sn .sAMAccountName }}", "description": "{{ .description }}"},
}

var defaultGroupProps = map[string]string{"name": "{{ .cn }}", "description": "{{ .description }}"}

// neverMapped are properties ldapply computes or must not write from a
// template.
var neverMapped = []string{"users", "nestedGroup", "groups", "memberOf", "primaryGroup"}

// Resolve reads password_file, fills defaults for the source schema and
// validates. Errors name the configuration key.
func (c *Config) Resolve(schema string) error {
	if err := endpoint.Resolve("target.udm", "https://ucs.example.com/univention/udm/", c.URL, c.AllowInsecure, c.Username, &c.Password, c.PasswordFile); err != nil {
		return err
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.Timeout != 0 && c.ReadTimeout != 0 && c.Timeout != c.ReadTimeout {
		return fmt.Errorf("target.udm: timeout and read_timeout are the same setting; set only one of them")
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = cmp.Or(c.Timeout, DefaultReadTimeout)
	}
	c.Timeout = c.ReadTimeout
	if c.ConnectTimeout < 0 || c.ReadTimeout < 0 {
		return fmt.Errorf("target.udm: connect_timeout and timeout (read_timeout) must be positive")
	}
	if c.UserOU == "" || c.GroupOU == "" {
		return fmt.Errorf("target.udm.user_ou and group_ou are required: the containers ldapply creates users and groups in")
	}
	if c.UserKeyProperty == "" {
		c.UserKeyProperty = DefaultKeyProperty
	}
	if c.GroupKeyProperty == "" {
		c.GroupKeyProperty = DefaultKeyProperty
	}
	if c.UserProperties == nil {
		def, ok := defaultUserProps[schema]
		if !ok {
			def = defaultUserProps["inetorgperson"]
		}
		c.UserProperties = def
	}
	if c.GroupProperties == nil {
		c.GroupProperties = defaultGroupProps
	}
	for _, s := range []struct {
		key, name, keyProp string
		m                  map[string]string
	}{{"user_properties", "username", c.UserKeyProperty, c.UserProperties}, {"group_properties", "name", c.GroupKeyProperty, c.GroupProperties}} {
		if s.m[s.name] == "" {
			return fmt.Errorf("target.udm.%s.%s is required (it names the object and its DN)", s.key, s.name)
		}
		for prop, text := range s.m {
			if slices.Contains(neverMapped, prop) {
				return fmt.Errorf("target.udm.%s.%s: ldapply computes memberships itself; this property cannot be mapped", s.key, prop)
			}
			if prop == passwordProp && s.key == "group_properties" {
				return fmt.Errorf("target.udm.group_properties.password: groups have no password")
			}
			if prop == s.keyProp {
				return fmt.Errorf("target.udm.%s.%s: this is the key property; ldapply writes the source primary key there", s.key, prop)
			}
			if _, err := mapping.Parse(prop, text); err != nil {
				return fmt.Errorf("target.udm.%s.%s: %w", s.key, prop, err)
			}
		}
	}
	return nil
}
