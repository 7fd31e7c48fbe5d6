package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/ldapply/ldapply/apply"
	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/providers"
	"github.com/ldapply/ldapply/providers/ldap"
)

// target is what the CLI needs of a target provider.
type target interface {
	// Describe names the target ("icinga https://…"); plans record it.
	Describe() string
	// Plan reads the target and returns the changes that make it match
	// dir, with Refs, Warnings and Counts; the header is the caller's.
	// It reads dir and b and changes neither.
	Plan(ctx context.Context, dir *plan.Directory, b plan.Bindings) (*plan.Plan, error)
	apply.Target
}

// targetKind is one provider as the configuration names it; each is
// registered in targets.go with [kindOf].
type targetKind struct {
	// name is the key under target:, e.g. "icinga".
	name string
	// newConfig returns a pointer to a zero configuration struct (yaml
	// tags; secrets tagged `secret:"true"`).
	newConfig func() any
	// resolve fills defaults and validates; schema is source.schema.
	resolve func(cfg any, schema string) error
	// build makes the provider from a resolved configuration; src is the
	// resolved source configuration (some targets derive settings from it).
	build func(cfg any, src *ldap.Config, log *slog.Logger) (target, error)
	// reports says the provider is a serviceReporter: validate builds it
	// and asks the service what it supports.
	reports bool
}

// resolvable is a provider's configuration: Resolve fills its defaults
// and validates it against source.schema.
type resolvable[C any] interface {
	*C
	Resolve(schema string) error
}

// kindOf describes the provider whose configuration is C (the section
// under target.<name>) and which newProvider builds. A provider that
// does not satisfy target fails to compile here.
func kindOf[C any, PC resolvable[C], P target](name string, newProvider func(C, providers.Env) (P, error)) *targetKind {
	_, reports := any(*new(P)).(serviceReporter)
	return &targetKind{
		reports:   reports,
		name:      name,
		newConfig: func() any { return PC(new(C)) },
		resolve:   func(cfg any, schema string) error { return cfg.(PC).Resolve(schema) },
		build: func(cfg any, src *ldap.Config, log *slog.Logger) (target, error) {
			return newProvider(*cfg.(PC), providers.Env{Source: src, Version: version, Log: log})
		},
	}
}

// sourceless is implemented by targets whose plan does not need the
// directory read (their desired state comes from the configuration).
// When NeedsSource returns false, plan passes an empty Directory.
type sourceless interface {
	NeedsSource() bool
}

// prefetcher is implemented by targets that can start reading themselves
// while the directory is read; their next Plan uses that read. The two
// reads overlap, so a plan takes about the longer of them, not the sum.
type prefetcher interface {
	Prefetch(ctx context.Context)
}

// attributeReader is implemented by targets that know which user
// attributes their mapping reads (nil: any); the source asks the server
// for those alone.
type attributeReader interface {
	SourceAttributes() []string
}

// serviceReporter is implemented by targets that can say, for validate,
// what the service they write to supports (SCIM: its discovery
// endpoints). It contacts the service.
type serviceReporter interface {
	ReportService(ctx context.Context, w io.Writer) error
}

// afterApplier is implemented by targets with work to do after every
// change of a plan succeeded (Teamwire: start a sync run and follow it).
// It runs under the state lock; an error makes apply exit non-zero.
type afterApplier interface {
	AfterApply(ctx context.Context, p *plan.Plan, out io.Writer) error
}

var targetKinds = map[string]*targetKind{}

func registerTarget(k *targetKind) {
	if _, dup := targetKinds[k.name]; dup {
		panic("target registered twice: " + k.name)
	}
	targetKinds[k.name] = k
}

func targetNames() []string {
	var names []string
	for n := range targetKinds {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// TargetConfig is the target: section: exactly one registered provider.
type TargetConfig struct {
	Name   string
	Config any
	kind   *targetKind
}

// UnmarshalYAML picks the provider named by the single key and decodes
// its section, reporting unknown keys with their line.
func (t *TargetConfig) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode || len(n.Content) != 2 {
		return fmt.Errorf("line %d: target must name exactly one target: one of %s", n.Line, strings.Join(targetNames(), ", "))
	}
	name := n.Content[0].Value
	k, ok := targetKinds[name]
	if !ok {
		return fmt.Errorf("line %d: unknown target %q; this ldapply knows %s", n.Content[0].Line, name, strings.Join(targetNames(), ", "))
	}
	cfg := k.newConfig()
	if err := checkKnownFields(n.Content[1], reflect.TypeOf(cfg), "target."+name); err != nil {
		return err
	}
	if err := n.Content[1].Decode(cfg); err != nil {
		return err
	}
	t.Name, t.Config, t.kind = name, cfg, k
	return nil
}

func newTarget(cfg *Config, log *slog.Logger) (target, error) {
	return cfg.Target.kind.build(cfg.Target.Config, &cfg.Source, log)
}
