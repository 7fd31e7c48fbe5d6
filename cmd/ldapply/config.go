package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/ldapply/ldapply/providers/icinga"
	"github.com/ldapply/ldapply/providers/ldap"
)

// Config is the whole configuration file.
type Config struct {
	Source ldap.Config  `yaml:"source"`
	Target TargetConfig `yaml:"target"`
	State  StateConfig  `yaml:"state"`
}

// TargetConfig names exactly one target.
type TargetConfig struct {
	Icinga *icinga.Config `yaml:"icinga"`
}

// StateConfig says where the state lives.
type StateConfig struct {
	// Path is the bbolt state file; default ./ldapply.state.
	Path string `yaml:"path"`
}

// loadConfig reads, expands, decodes and resolves the configuration at
// path. Unknown keys are errors; ${VAR} is replaced by the environment
// variable VAR in every string value ($${VAR} keeps it literally).
func loadConfig(path string) (*Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("configuration file %s does not exist; pass --config FILE or set LDAPPLY_CONFIG", path)
		}
		return nil, fmt.Errorf("read configuration: %w", err)
	}
	cfg, err := parseConfig(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

func parseConfig(raw []byte) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(raw, &root); err != nil {
		return nil, err
	}
	if root.Kind == 0 {
		return nil, errors.New("the configuration is empty; it needs at least source:, target: and state:")
	}
	// Unknown keys are reported from the file as written, so their line
	// numbers are exact.
	strict := yaml.NewDecoder(bytes.NewReader(raw))
	strict.KnownFields(true)
	var probe Config
	if err := strict.Decode(&probe); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			var unknown []string
			for _, e := range te.Errors {
				if strings.Contains(e, "not found in type") {
					unknown = append(unknown, e)
				}
			}
			if len(unknown) > 0 {
				return nil, fmt.Errorf("unknown key: %s", strings.Join(unknown, "; "))
			}
		}
	}
	if err := expandNode(&root); err != nil {
		return nil, err
	}
	// Re-encode the expanded tree and decode it strictly, so unknown keys
	// are reported with their line.
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	if err := enc.Encode(&root); err != nil {
		return nil, err
	}
	var cfg Config
	dec := yaml.NewDecoder(&buf)
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && err != io.EOF {
		return nil, err
	}
	if err := cfg.resolve(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// expandNode replaces ${VAR} in every scalar value (not in keys).
func expandNode(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "$") {
			return nil
		}
		v, err := expandEnv(n.Value)
		if err != nil {
			return fmt.Errorf("line %d: %w", n.Line, err)
		}
		n.Value = v
		if n.Style == 0 && n.Tag == "" {
			// Keep expanded values strings ("${PORT}" stays a string).
			n.Style = yaml.DoubleQuotedStyle
		}
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			if err := expandNode(n.Content[i]); err != nil {
				return err
			}
		}
	default:
		for _, c := range n.Content {
			if err := expandNode(c); err != nil {
				return err
			}
		}
	}
	return nil
}

// expandEnv replaces ${VAR}; $$ is a literal $. A reference to an unset
// variable is an error, so that a forgotten export does not become an
// empty password.
func expandEnv(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == '$' {
			b.WriteByte('$')
			i++
			continue
		}
		if i+1 < len(s) && s[i+1] == '{' {
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return "", fmt.Errorf("unterminated ${ in %q", s)
			}
			name := s[i+2 : i+2+end]
			v, ok := os.LookupEnv(name)
			if !ok {
				return "", fmt.Errorf("environment variable %s is not set (referenced as ${%s})", name, name)
			}
			b.WriteString(v)
			i += 2 + end
			continue
		}
		b.WriteByte('$')
	}
	return b.String(), nil
}

func (c *Config) resolve() error {
	if err := c.Source.Resolve(); err != nil {
		return err
	}
	if c.Target.Icinga == nil {
		return errors.New("target: no target configured; add target.icinga")
	}
	if err := c.Target.Icinga.Resolve(c.Source.Schema); err != nil {
		return err
	}
	if c.State.Path == "" {
		c.State.Path = "./ldapply.state"
	}
	return nil
}

// Digest hashes the effective configuration without its secrets, so a
// plan can be tied to the configuration it was made with.
func (c *Config) Digest() string {
	cp := *c
	cp.Source.BindPassword = ""
	if c.Target.Icinga != nil {
		ic := *c.Target.Icinga
		ic.Password = ""
		cp.Target.Icinga = &ic
	}
	b, err := json.Marshal(&cp)
	if err != nil {
		panic("config digest: " + err.Error())
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// secrets returns the secret values in the configuration, so callers can
// make sure none ends up in output.
func (c *Config) secrets() []string {
	var s []string
	if c.Source.BindPassword != "" {
		s = append(s, c.Source.BindPassword)
	}
	if c.Target.Icinga != nil && c.Target.Icinga.Password != "" {
		s = append(s, c.Target.Icinga.Password)
	}
	return s
}
