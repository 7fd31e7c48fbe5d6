package teamwire

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/providers"
)

// Provider manages the LDAP synchronisation settings of Teamwire
// organisations (kind [KindSettings], one object per organisation) and
// starts and follows their sync runs.
type Provider struct {
	cfg    Config
	client *Client
	log    *slog.Logger
	// attrs are the desired settings (bindpw as an empty placeholder);
	// bindpw is the clear secret, read from the configuration at plan and
	// at apply time and never written anywhere.
	attrs  map[string]string
	bindpw string
}

// New returns a provider for a resolved configuration; src is the
// resolved source configuration the settings are derived from.
func New(cfg Config, env providers.Env) (*Provider, error) {
	src, version, log := env.Source, env.Version, env.Log
	attrs, pw, err := desired(&cfg, src)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	client, err := NewClient(ClientConfig{URL: cfg.URL, APIVersion: cfg.APIVersion, Email: cfg.Email, Password: cfg.Password,
		TOTPSecret: cfg.TOTPSecret, CACert: cfg.CACert, Timeout: time.Duration(cfg.Timeout), ConnectTimeout: time.Duration(cfg.ConnectTimeout),
		Log: log, UserAgent: "ldapply/" + version})
	if err != nil {
		return nil, err
	}
	return &Provider{cfg: cfg, client: client, log: log, attrs: attrs, bindpw: pw}, nil
}

// Client returns the provider's API client.
func (p *Provider) Client() *Client { return p.client }

// Describe names the target for plan headers.
func (p *Provider) Describe() string {
	return "teamwire " + strings.TrimSuffix(p.cfg.URL, "/") + " v" + p.cfg.APIVersion
}

// NeedsSource is false: the desired settings come from the configuration,
// so plan does not read the directory.
func (p *Provider) NeedsSource() bool { return false }

func objectName(org string) string {
	if org == OwnOrg {
		return "own organisation"
	}
	return "organisation " + org
}

// currentObject turns settings as read into a plan object holding the
// managed keys only; bindpw is a salted hash.
func (p *Provider) currentObject(org string, s Settings, salt string) *plan.Object {
	o := &plan.Object{Kind: KindSettings, ID: org, Name: objectName(org), Attrs: map[string]string{}, Version: s.version(salt)}
	for k := range p.attrs {
		v, ok := s.str(k)
		if !ok {
			continue
		}
		if k == fieldBindPW {
			v = plan.HashSecret(salt, v)
			o.Sensitive = []string{fieldBindPW}
		}
		o.Attrs[k] = v
	}
	return o
}

func (p *Provider) desiredObject(org, salt string) *plan.Object {
	o := &plan.Object{Kind: KindSettings, Key: org, ID: org, Name: objectName(org), Attrs: maps.Clone(p.attrs)}
	if _, ok := o.Attrs[fieldBindPW]; ok {
		o.Attrs[fieldBindPW] = plan.HashSecret(salt, p.bindpw)
		o.Sensitive = []string{fieldBindPW}
	}
	return o
}

// Plan reads the settings of every configured organisation and returns
// the changes that make them match the desired ones. dir is not used.
func (p *Provider) Plan(ctx context.Context, _ *plan.Directory, bindings plan.Bindings) (*plan.Plan, error) {
	salt := plan.NewSalt()
	res := &plan.Plan{Counts: map[string]int{}}
	var desiredObjs, current []*plan.Object
	raw := map[string]Settings{}
	for _, org := range p.cfg.organisations() {
		s, err := p.client.GetSettings(ctx, org)
		if err != nil {
			return nil, err
		}
		raw[org] = s
		for dep, repl := range deprecatedFields {
			if v, _ := s.str(dep); v != "" {
				res.Warnings = append(res.Warnings, fmt.Sprintf("%s still has the deprecated setting %s = %q; Teamwire will remove it, set %s instead", objectName(org), dep, v, repl))
			}
		}
		current = append(current, p.currentObject(org, s, salt))
		desiredObjs = append(desiredObjs, p.desiredObject(org, salt))
	}
	slices.Sort(res.Warnings)
	res.Counts["target organisations"] = len(current)
	res.Counts["managed settings"] = len(bindings[KindSettings])
	changes, err := plan.Diff(plan.Input{Desired: desiredObjs, Current: current, Bindings: bindings})
	if err != nil {
		return nil, err
	}
	for i := range changes {
		if c := &changes[i]; c.Action == plan.Delete {
			res.Warnings = append(res.Warnings, fmt.Sprintf("%s is no longer in target.teamwire.organisations: ldapply stops managing its settings and leaves them as they are in Teamwire", objectName(c.ID)))
		}
	}
	res.Changes = changes
	return res, nil
}

// settingsBody is the POST body without bindpw: every setting POST accepts,
// at its desired value (after) when managed, else as the server has it
// now (cur, read at apply), so that the POST changes nothing else,
// whether the server treats it as a partial update or a replacement.
func settingsBody(cur Settings, after *plan.Object) map[string]any {
	body := map[string]any{}
	for _, k := range postFields {
		if k == fieldBindPW {
			continue
		}
		if v, ok := after.Attrs[k]; ok {
			if numberFields[k] {
				n, _ := toInt(v)
				body[k] = n
			} else {
				body[k] = v
			}
			continue
		}
		if v, ok := cur[k]; ok {
			body[k] = v
		}
	}
	return body
}

// ErrStaleSecret is wrapped by Apply when the bind password configured now
// is not the one the plan was made with.
var ErrStaleSecret = errors.New("the bind password is not the one the plan was made with")

// ErrDrift is wrapped by Apply when the organisation's settings changed in
// Teamwire since the plan was made.
var ErrDrift = errors.New("the settings changed in Teamwire since the plan was made")

// Apply POSTs one organisation's settings. It first re-reads them and
// refuses when they changed since the plan, and checks the configured
// bind password against the plan's hash before inserting it. A delete
// only ends management: nothing is sent.
func (p *Provider) Apply(ctx context.Context, c *plan.Change) error {
	if c.Kind != KindSettings {
		return fmt.Errorf("teamwire: unknown kind %q in plan", c.Kind)
	}
	if !sends(c) {
		return nil
	}
	if c.Before == nil || c.After == nil {
		return fmt.Errorf("teamwire: change of %s lacks its before or after object; run plan again", c.Name())
	}
	salt, ok := saltOfVersion(c.Before.Version)
	if !ok {
		return fmt.Errorf("teamwire: the plan's version of %s is not one this ldapply makes; run plan again", c.Name())
	}
	secret := ""
	if want, managed := c.After.Attrs[fieldBindPW]; managed {
		if !plan.SecretMatches(want, p.bindpw) {
			return fmt.Errorf("teamwire: %s: %w; nothing was sent, run plan again", c.Name(), ErrStaleSecret)
		}
		secret = p.bindpw
	}
	cur, err := p.client.GetSettings(ctx, c.ID)
	if err != nil {
		return err
	}
	if cur.version(salt) != c.Before.Version {
		return fmt.Errorf("teamwire: %s: %w; nothing was sent, run plan again", c.Name(), ErrDrift)
	}
	body := settingsBody(cur, c.After)
	if _, managed := c.After.Attrs[fieldBindPW]; !managed {
		// Send back what the server has, so a replacing POST keeps it.
		v, ok := cur.str(fieldBindPW)
		if !ok {
			return p.post(ctx, c, body)
		}
		secret = v
	}
	body[fieldBindPW] = secret
	return p.post(ctx, c, body)
}

// sends reports whether c writes anything: a delete only ends
// management, and an adoption of settings already as desired has
// nothing to send.
func sends(c *plan.Change) bool {
	return c.Action != plan.Delete && !(c.Action == plan.Adopt && plan.Equal(c.Before, c.After))
}

func (p *Provider) post(ctx context.Context, c *plan.Change, body map[string]any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("teamwire: encode settings of %s: %w", c.Name(), err)
	}
	return p.client.SetSettings(ctx, c.ID, b)
}

// changedOrgs lists the organisations whose settings p sends, in order.
func changedOrgs(p *plan.Plan) []string {
	var out []string
	for i := range p.Changes {
		c := &p.Changes[i]
		if c.Kind == KindSettings && sends(c) {
			out = append(out, c.ID)
		}
	}
	return out
}
