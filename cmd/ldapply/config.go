package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ldapply/ldapply/providers/ldap"
	"github.com/ldapply/ldapply/state"
)

// Config is the whole configuration file.
type Config struct {
	Source ldap.Config  `yaml:"source"`
	Target TargetConfig `yaml:"target"`
	State  StateConfig  `yaml:"state"`
	Safety SafetyConfig `yaml:"safety"`

	// files are the file settings, made absolute (see absPaths).
	files []fileSetting
	// path is the configuration file's absolute path ("" when parsed
	// from bytes).
	path string
}

// fileSetting is one setting that names a file.
type fileSetting struct {
	key     string // "source.ca_cert"
	path    string // absolute
	written string // as the configuration has it
}

// SafetyConfig holds the guards that stop a plan from doing damage when
// the source read is short or wrong.
type SafetyConfig struct {
	// MaxDeletes is the most deletes a plan may hold (all kinds);
	// default 500, as Entra Connect's "prevent accidental deletes". A
	// negative value disables the check.
	MaxDeletes *int `yaml:"max_deletes"`
	// MaxDeletePercent is the most deletes a plan may hold of one kind,
	// as a percentage of the managed objects of that kind, once at least
	// minManagedForPercent of them are managed (of a kind with fewer, from
	// minManagedForHalf on, more than half is refused); default 25. A
	// negative value disables the check.
	MaxDeletePercent *float64 `yaml:"max_delete_percent"`
	// MinSourceUsers is the fewest users a source read may return; a
	// smaller read is an error, never "delete everyone". Default 1.
	MinSourceUsers *int `yaml:"min_source_users"`
}

// StateConfig says where the state lives: a bbolt file (default) or a
// shared PostgreSQL database.
type StateConfig struct {
	// Path is the bbolt state file; default ldapply.state beside the
	// configuration file.
	Path string `yaml:"path"`
	// Postgres selects the PostgreSQL backend instead of the file.
	Postgres *PostgresStateConfig `yaml:"postgres"`
}

// PostgresStateConfig is state.postgres.
type PostgresStateConfig struct {
	// DSN is a libpq connection string or URL; DSNFile may replace it.
	DSN     string `yaml:"dsn" secret:"true"`
	DSNFile string `yaml:"dsn_file"`
	// Schema holds ldapply's tables; default "ldapply".
	Schema string `yaml:"schema"`
	// Workspace separates the states of several configurations in one
	// database; default "default".
	Workspace string `yaml:"workspace"`
	// ConnectTimeout bounds each connection (TCP, TLS, login); default
	// 10s, unless the DSN sets connect_timeout.
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
	// Timeout bounds each statement or transaction once connected, not
	// the wait for the lock; default 1m.
	Timeout time.Duration `yaml:"timeout"`
}

// openPostgresState opens the PostgreSQL backend, which logs its waits
// for the server to log; set by the file that provides it, nil when this
// build has none.
var openPostgresState func(PostgresStateConfig, *slog.Logger) (state.Backend, error)

// stateBackend opens the configured state location; log receives what a
// remote state logs while it waits (nil discards it).
func (c *Config) stateBackend(log *slog.Logger) (state.Backend, error) {
	if c.State.Postgres != nil {
		if openPostgresState == nil {
			return nil, errors.New("state.postgres: this ldapply was built without the PostgreSQL state backend")
		}
		return openPostgresState(*c.State.Postgres, log)
	}
	return state.File{Path: c.State.Path}, nil
}

// loadConfig reads, expands, checks, decodes and resolves the
// configuration at path. Unknown keys are errors naming their line;
// ${VAR} is replaced by the environment variable VAR in every value ($$
// is a literal $). Relative file paths in it are relative to its
// directory.
func loadConfig(path string) (*Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("configuration file %s does not exist; pass --config FILE or set LDAPPLY_CONFIG", path)
		}
		return nil, fmt.Errorf("read configuration: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("configuration %s: %w", path, err)
	}
	cfg, err := parseConfig(raw, filepath.Dir(abs))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	cfg.path = abs
	return cfg, nil
}

// parseConfig parses a configuration whose relative paths are relative
// to dir, an absolute directory.
func parseConfig(raw []byte, dir string) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(raw, &root); err != nil {
		return nil, err
	}
	if root.Kind == 0 || len(root.Content) == 0 {
		return nil, errors.New("the configuration is empty; it needs at least source:, target: and state:")
	}
	if err := expandNode(&root); err != nil {
		return nil, err
	}
	if err := checkKnownFields(root.Content[0], reflect.TypeOf(Config{}), ""); err != nil {
		return nil, err
	}
	var cfg Config
	if err := root.Decode(&cfg); err != nil {
		return nil, err
	}
	cfg.absPaths(dir)
	if err := cfg.resolve(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// checkKnownFields reports the first mapping key that no field of t (a
// struct, through pointers, slices and inline structs) accepts, with its
// line. Types that decode themselves (yaml.Unmarshaler) check their own.
func checkKnownFields(n *yaml.Node, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()) {
		return nil
	}
	switch {
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for i, c := range n.Content {
			if err := checkKnownFields(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			ft, ok := fields[key]
			name := strings.TrimPrefix(path+"."+key, ".")
			if !ok {
				return fmt.Errorf("line %d: unknown key %s; the keys allowed here are %s", n.Content[i].Line, name, strings.Join(slices.Sorted(mapsKeys(fields)), ", "))
			}
			if err := checkKnownFields(n.Content[i+1], ft, name); err != nil {
				return err
			}
		}
	}
	return nil
}

// yamlFields maps the YAML keys of struct t (inline structs flattened) to
// their field types.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") {
			for k, v := range yamlFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
	return out
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
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
	if c.Target.kind == nil {
		return fmt.Errorf("target: no target configured; add one of target.%s", strings.Join(targetNames(), ", target."))
	}
	if err := c.Target.kind.resolve(c.Target.Config, c.Source.Schema); err != nil {
		return err
	}
	if pg := c.State.Postgres; pg != nil {
		if pg.DSNFile != "" {
			if pg.DSN != "" {
				return errors.New("state.postgres: set dsn or dsn_file, not both")
			}
			b, err := os.ReadFile(pg.DSNFile)
			if err != nil {
				return fmt.Errorf("state.postgres.dsn_file: %w", err)
			}
			pg.DSN = strings.TrimSpace(string(b))
		}
		if pg.DSN == "" {
			return errors.New("state.postgres.dsn (or dsn_file) is required")
		}
		if pg.Schema == "" {
			pg.Schema = "ldapply"
		}
		if pg.Workspace == "" {
			pg.Workspace = "default"
		}
	}
	if c.Safety.MaxDeletes == nil {
		c.Safety.MaxDeletes = ptrTo(500)
	}
	if c.Safety.MinSourceUsers == nil {
		c.Safety.MinSourceUsers = ptrTo(1)
	}
	if c.Safety.MaxDeletePercent == nil {
		c.Safety.MaxDeletePercent = ptrTo(DefaultMaxDeletePercent)
	}
	if p := *c.Safety.MaxDeletePercent; p > 100 {
		return fmt.Errorf("safety.max_delete_percent %g is not a percentage between 0 and 100 (a negative value turns the check off)", p)
	}
	return nil
}

// DefaultMaxDeletePercent is safety.max_delete_percent's default: a plan
// that deletes more than a quarter of the managed users (or groups) is
// far more likely a source filter cut too narrow than a real departure.
const DefaultMaxDeletePercent = 25.0

func ptrTo[T any](v T) *T { return &v }

// absPaths makes every file setting absolute, relative paths relative to
// dir (the configuration file's directory, as its author meant them, not
// the working directory of whoever runs ldapply): state.path (default
// ldapply.state), and in every section ca_cert and each *_file. It
// records them for validate.
func (c *Config) absPaths(dir string) {
	if c.State.Path == "" {
		c.State.Path = defaultStateFile
	}
	abs := func(key string, p *string) {
		if *p == "" {
			return
		}
		written := *p
		if !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
		c.files = append(c.files, fileSetting{key, *p, written})
	}
	walk := func(prefix string, v reflect.Value) {
		walkFileSettings(prefix, v, abs)
	}
	walk("source", reflect.ValueOf(&c.Source).Elem())
	if c.Target.Config != nil {
		walk("target."+c.Target.Name, reflect.ValueOf(c.Target.Config).Elem())
	}
	if c.State.Postgres == nil {
		abs("state.path", &c.State.Path)
	}
	walk("state", reflect.ValueOf(&c.State).Elem())
}

// defaultStateFile is state.path's default, beside the configuration.
const defaultStateFile = "ldapply.state"

// walkFileSettings calls fn with the key and a pointer to every string
// field of the struct v (at any depth) that names a file: ca_cert and
// every *_file.
func walkFileSettings(prefix string, v reflect.Value, fn func(key string, p *string)) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			walkFileSettings(prefix, v.Elem(), fn)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			key := prefix
			if !strings.Contains(opts, "inline") {
				key = prefix + "." + name
			}
			if f.Type.Kind() == reflect.String && (name == "ca_cert" || strings.HasSuffix(name, "_file")) {
				fn(key, v.Field(i).Addr().Interface().(*string))
				continue
			}
			walkFileSettings(key, v.Field(i), fn)
		}
	}
}

// Digest hashes the effective configuration without its secrets (fields
// tagged `secret:"true"`), so a plan can be tied to the configuration it
// was made with. File paths count as written in the file, not as made
// absolute. The state section is left out: where the state lives
// does not change what a plan does (the lineage ties a plan to its state),
// and a plan must survive `state migrate`.
func (c *Config) Digest() string {
	// File settings count as written: the same configuration checked
	// out in another directory (another CI runner) is the same.
	written := map[string]string{}
	for _, f := range c.files {
		written[f.key] = f.written
	}
	asWritten := func(prefix string, ptr any) any {
		walkFileSettings(prefix, reflect.ValueOf(ptr).Elem(), func(key string, p *string) {
			if w, ok := written[key]; ok {
				*p = w
			}
		})
		return ptr
	}
	v := map[string]any{
		"source": asWritten("source", redacted(&c.Source)),
		"target": map[string]any{c.Target.Name: asWritten("target."+c.Target.Name, redacted(c.Target.Config))},
		"safety": c.Safety,
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic("config digest: " + err.Error())
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// redacted returns a copy of the struct behind ptr with every field tagged
// `secret:"true"` (at any depth) set to its zero value.
func redacted(ptr any) any {
	v := reflect.New(reflect.TypeOf(ptr).Elem())
	v.Elem().Set(reflect.ValueOf(ptr).Elem())
	walkSecrets(v.Elem(), func(f reflect.Value) { f.Set(reflect.Zero(f.Type())) })
	return v.Interface()
}

// secrets returns the non-empty secret strings of the configuration, so
// callers and tests can make sure none ends up in output.
func (c *Config) secrets() []string {
	var out []string
	collect := func(f reflect.Value) {
		if f.Kind() == reflect.String && f.String() != "" {
			out = append(out, f.String())
		}
	}
	walkSecrets(reflect.ValueOf(&c.Source).Elem(), collect)
	if c.Target.Config != nil {
		walkSecrets(reflect.ValueOf(c.Target.Config).Elem(), collect)
	}
	walkSecrets(reflect.ValueOf(&c.State).Elem(), collect)
	return out
}

func walkSecrets(v reflect.Value, fn func(reflect.Value)) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			walkSecrets(v.Elem(), fn)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			if f.Tag.Get("secret") == "true" {
				fn(v.Field(i))
				continue
			}
			walkSecrets(v.Field(i), fn)
		}
	}
}
