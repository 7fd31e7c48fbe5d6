package icinga

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"text/template"

	"github.com/google/uuid"
	"github.com/ldapply/ldapply/plan"
)

// Attribute names of contacts and groups as plan objects.
const (
	attrUsername       = "username"
	attrFullName       = "full_name"
	attrEmail          = "email"
	attrDefaultChannel = "default_channel"
	listMembers        = "members"
)

// Provider plans and applies changes to Icinga Notifications contacts
// (kind user) and contact groups (kind group).
type Provider struct {
	cfg    Config
	client *Client
	log    *slog.Logger
	ns     uuid.UUID
	tmpl   struct{ username, fullName, email, groupName *template.Template }
}

// New returns a provider for a resolved configuration (see
// [Config.Resolve]).
func New(cfg Config, version string, log *slog.Logger) (*Provider, error) {
	client, err := NewClient(ClientConfig{URL: cfg.URL, Username: cfg.Username, Password: cfg.Password, CACert: cfg.CACert, InsecureSkipVerify: cfg.InsecureSkipVerify, UserAgent: "ldapply/" + version})
	if err != nil {
		return nil, err
	}
	if cfg.InsecureSkipVerify && log != nil {
		log.Warn("TLS certificate verification of Icinga is off (target.icinga.insecure_skip_verify): anyone between ldapply and Icinga can read its password; use target.icinga.ca_cert instead.", "url", cfg.URL)
	}
	p := &Provider{cfg: cfg, client: client, log: log, ns: uuid.MustParse(cfg.Namespace)}
	for _, t := range []struct {
		dst  **template.Template
		name string
		text string
	}{
		{&p.tmpl.username, "username", cfg.Map.Username},
		{&p.tmpl.fullName, "full_name", cfg.Map.FullName},
		{&p.tmpl.email, "email", cfg.Map.Email},
		{&p.tmpl.groupName, "group_name", cfg.Map.GroupName},
	} {
		if *t.dst, err = parseTemplate(t.name, t.text); err != nil {
			return nil, fmt.Errorf("target.icinga.map.%s: %w", t.name, err)
		}
	}
	return p, nil
}

// Describe names the target for plan headers: "icinga <url>".
func (p *Provider) Describe() string {
	return "icinga " + strings.TrimSuffix(p.cfg.URL, "/")
}

// ContactID derives a contact id from a primary key or, with id_scheme
// blog, from the username.
func (p *Provider) ContactID(key, username string) string {
	if p.cfg.IDScheme == "blog" {
		return uuid.NewSHA1(p.ns, []byte("contact:"+username)).String()
	}
	return uuid.NewSHA1(p.ns, []byte("contact:"+key)).String()
}

// GroupID derives a contact group id like ContactID.
func (p *Provider) GroupID(key, name string) string {
	if p.cfg.IDScheme == "blog" {
		return uuid.NewSHA1(p.ns, []byte("group:"+name)).String()
	}
	return uuid.NewSHA1(p.ns, []byte("group:"+key)).String()
}

// snapshot is what the target holds.
type snapshot struct {
	channel  Channel
	contacts map[string]*Contact
	groups   map[string]*Group
}

func (p *Provider) read(ctx context.Context) (*snapshot, error) {
	channels, err := p.client.Channels(ctx)
	if err != nil {
		return nil, fmt.Errorf("icinga: read channels: %w", err)
	}
	ch, err := pickChannel(channels, p.cfg.Channel)
	if err != nil {
		return nil, err
	}
	contacts, err := p.client.Contacts(ctx)
	if err != nil {
		return nil, fmt.Errorf("icinga: read contacts: %w", err)
	}
	groups, err := p.client.Groups(ctx)
	if err != nil {
		return nil, fmt.Errorf("icinga: read contact groups: %w", err)
	}
	s := &snapshot{channel: ch, contacts: make(map[string]*Contact, len(contacts)), groups: make(map[string]*Group, len(groups))}
	for i := range contacts {
		c := &contacts[i]
		c.ID = strings.ToLower(c.ID)
		slices.Sort(c.Groups)
		s.contacts[c.ID] = c
	}
	for i := range groups {
		g := &groups[i]
		g.ID = strings.ToLower(g.ID)
		slices.Sort(g.Users)
		s.groups[g.ID] = g
	}
	return s, nil
}

// pickChannel finds the default channel by id, then name, then type.
func pickChannel(channels []Channel, want string) (Channel, error) {
	var byName, byType []Channel
	for _, c := range channels {
		if strings.EqualFold(c.ID, want) {
			return c, nil
		}
		if c.Name == want {
			byName = append(byName, c)
		}
		if c.Type == want {
			byType = append(byType, c)
		}
	}
	for _, cands := range [][]Channel{byName, byType} {
		switch len(cands) {
		case 0:
			continue
		case 1:
			return checkChannel(cands[0])
		default:
			var names []string
			for _, c := range cands {
				names = append(names, fmt.Sprintf("%s (%s)", c.Name, c.ID))
			}
			return Channel{}, fmt.Errorf("icinga: target.icinga.channel %q matches %d channels: %s; set it to the id of one", want, len(cands), strings.Join(names, ", "))
		}
	}
	var have []string
	for _, c := range channels {
		have = append(have, fmt.Sprintf("%s (type %s, id %s)", c.Name, c.Type, c.ID))
	}
	if len(have) == 0 {
		return Channel{}, fmt.Errorf("icinga: the server has no notification channels; create an email channel in Icinga Notifications Web first")
	}
	return Channel{}, fmt.Errorf("icinga: no channel matches target.icinga.channel %q; the server has %s", want, strings.Join(have, ", "))
}

func checkChannel(c Channel) (Channel, error) {
	if c.Type != "email" && c.Type != "webhook" {
		return Channel{}, fmt.Errorf("icinga: channel %s has type %s, but ldapply fills only email addresses; choose an email or webhook channel in target.icinga.channel", c.Name, c.Type)
	}
	return c, nil
}

// contactObject turns a contact as read into a plan object.
func contactObject(c *Contact) *plan.Object {
	name := ""
	if c.Username != nil {
		name = *c.Username
	}
	o := &plan.Object{Kind: plan.KindUser, ID: c.ID, Name: name, Attrs: map[string]string{
		attrUsername:       name,
		attrFullName:       c.FullName,
		attrDefaultChannel: c.DefaultChannel,
	}, Version: plan.VersionOf(c)}
	if e, ok := c.Addresses["email"]; ok {
		o.Attrs[attrEmail] = e
	}
	return o
}

func groupObject(g *Group) *plan.Object {
	return &plan.Object{Kind: plan.KindGroup, ID: g.ID, Name: g.Name,
		Lists: map[string][]string{listMembers: g.Users}, Version: plan.VersionOf(g)}
}

// templateData exposes an entry's attributes, first value of each, under
// the name the server returned and its lower-case form.
func templateData(e *plan.Entry) map[string]string {
	d := make(map[string]string, 2*len(e.Attrs)+1)
	for k, v := range e.Attrs {
		if len(v) == 0 {
			continue
		}
		d[k] = v[0]
		if lk := strings.ToLower(k); lk != k {
			if _, taken := d[lk]; !taken {
				d[lk] = v[0]
			}
		}
	}
	d["dn"] = e.DN
	return d
}

func execute(t *template.Template, data map[string]string, buf *bytes.Buffer) (string, error) {
	buf.Reset()
	if err := t.Execute(buf, data); err != nil {
		return "", err
	}
	return strings.TrimSpace(buf.String()), nil
}

// Plan reads the target and computes the changes that make it match dir.
// It fills the returned plan's Changes, Refs, Warnings and Counts; the
// caller fills the header.
func (p *Provider) Plan(ctx context.Context, dir *plan.Directory, bindings plan.Bindings) (*plan.Plan, error) {
	snap, err := p.read(ctx)
	if err != nil {
		return nil, err
	}
	res := &plan.Plan{Refs: map[string]string{}, Counts: map[string]int{
		"source users": len(dir.Users), "source groups": len(dir.Groups),
		"target contacts": len(snap.contacts), "target contact groups": len(snap.groups),
		"managed users": len(bindings[plan.KindUser]), "managed groups": len(bindings[plan.KindGroup]),
	}}
	var buf bytes.Buffer
	var problems []string

	// Users.
	var desired []*plan.Object
	userIDByDN := map[string]string{} // NormDN -> contact id, for members
	type named struct{ dn, id string }
	byUsername := map[string]named{} // lower(username) -> source user
	boundUsers := bindings.ByID(plan.KindUser)
	for _, e := range dir.Users {
		data := templateData(e)
		username, err := execute(p.tmpl.username, data, &buf)
		if err != nil {
			return nil, fmt.Errorf("icinga: target.icinga.map.username for %s: %w", e.DN, err)
		}
		if username == "" {
			res.Warnings = append(res.Warnings, fmt.Sprintf("user %s has no username (map.username is empty) and is skipped", e.DN))
			continue
		}
		email, err := execute(p.tmpl.email, data, &buf)
		if err != nil {
			return nil, fmt.Errorf("icinga: target.icinga.map.email for %s: %w", e.DN, err)
		}
		if email == "" && snap.channel.Type == "email" {
			res.Warnings = append(res.Warnings, fmt.Sprintf("user %s (%s) has no email address and is skipped: an Icinga contact needs one for its email default channel", username, e.DN))
			continue
		}
		fullName, err := execute(p.tmpl.fullName, data, &buf)
		if err != nil {
			return nil, fmt.Errorf("icinga: target.icinga.map.full_name for %s: %w", e.DN, err)
		}
		if fullName == "" {
			fullName = username
		}
		lower := strings.ToLower(username)
		if other, dup := byUsername[lower]; dup {
			problems = append(problems, fmt.Sprintf("source users %s and %s both map to username %q; Icinga usernames are unique (case-insensitive): fix the directory or target.icinga.map.username", other.dn, e.DN, username))
			continue
		}
		id := p.ContactID(e.Key, username)
		if b, ok := bindings[plan.KindUser][e.Key]; ok {
			id = b.ID
		}
		byUsername[lower] = named{e.DN, id}
		o := &plan.Object{Kind: plan.KindUser, Key: e.Key, ID: id, Name: username, Attrs: map[string]string{
			attrUsername: username, attrFullName: fullName, attrDefaultChannel: snap.channel.ID,
		}}
		if email != "" {
			o.Attrs[attrEmail] = email
		}
		desired = append(desired, o)
		userIDByDN[e.NormDN] = id
		res.Refs[id] = username
	}
	// A username held by a contact ldapply does not manage blocks the sync
	// of that user: Icinga would reject it at apply time.
	for _, c := range snap.contacts {
		if c.Username == nil {
			continue
		}
		if _, managed := boundUsers[c.ID]; managed {
			continue
		}
		if u, ok := byUsername[strings.ToLower(*c.Username)]; ok && u.id != c.ID {
			problems = append(problems, fmt.Sprintf("source user %s maps to username %q, which Icinga contact %s already has and ldapply does not manage; rename or delete that contact in Icinga", u.dn, *c.Username, c.ID))
		}
	}

	// Groups.
	groupByDN := map[string]*plan.Entry{}
	for _, g := range dir.Groups {
		groupByDN[g.NormDN] = g
	}
	groupNameDN := map[string]string{}
	nested := map[string]string{} // "group id/member id" -> via group
	boundGroups := bindings.ByID(plan.KindGroup)
	var desiredGroups []*plan.Object
	for _, g := range dir.Groups {
		name, err := execute(p.tmpl.groupName, templateData(g), &buf)
		if err != nil {
			return nil, fmt.Errorf("icinga: target.icinga.map.group_name for %s: %w", g.DN, err)
		}
		if name == "" {
			res.Warnings = append(res.Warnings, fmt.Sprintf("group %s has no name (map.group_name is empty) and is skipped", g.DN))
			continue
		}
		if other, dup := groupNameDN[strings.ToLower(name)]; dup {
			problems = append(problems, fmt.Sprintf("source groups %s and %s both map to group name %q: fix the directory, target.icinga.map.group_name or source.groups.exclude", other, g.DN, name))
			continue
		}
		groupNameDN[strings.ToLower(name)] = g.DN
		id := p.GroupID(g.Key, name)
		if b, ok := bindings[plan.KindGroup][g.Key]; ok {
			id = b.ID
		}
		members := map[string]bool{}
		via := map[string]string{} // member id -> nested group it came through
		expandMembers(g, groupByDN, userIDByDN, via, "", map[string]bool{})
		if tm, ok := g.Attrs[plan.AttrTransitiveMembers]; ok {
			// The source resolved nesting (AD's in-chain rule), also
			// through groups it did not read.
			for _, dn := range tm {
				if uid, ok := userIDByDN[dn]; ok {
					members[uid] = true
					if _, known := via[uid]; !known {
						via[uid] = "a nested group"
					}
				}
			}
		} else {
			for uid := range via {
				members[uid] = true
			}
		}
		// The plan shows how a nested member got in: "dave (via dev)".
		for uid, v := range via {
			if v != "" && members[uid] {
				nested[id+"/"+uid] = v
			}
		}
		// Members ldapply does not manage (contacts made by hand) stay.
		if cur, ok := snap.groups[id]; ok {
			for _, u := range cur.Users {
				if _, managed := boundUsers[u]; !managed && !members[u] {
					if _, desiredID := res.Refs[u]; !desiredID {
						members[u] = true
					}
				}
			}
		}
		list := slices.Sorted(maps.Keys(members))
		desiredGroups = append(desiredGroups, &plan.Object{Kind: plan.KindGroup, Key: g.Key, ID: id, Name: name,
			Lists: map[string][]string{listMembers: list}})
		res.Refs[id] = name
	}
	for _, g := range snap.groups {
		if _, managed := boundGroups[g.ID]; managed {
			continue
		}
		if dn, ok := groupNameDN[strings.ToLower(g.Name)]; ok {
			res.Warnings = append(res.Warnings, fmt.Sprintf("group %s maps to name %q, which the unmanaged Icinga contact group %s also has", dn, g.Name, g.ID))
		}
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		return nil, &plan.ConflictError{Problems: problems}
	}

	current := make([]*plan.Object, 0, len(snap.contacts)+len(snap.groups))
	for _, c := range snap.contacts {
		current = append(current, contactObject(c))
		if c.Username != nil {
			if _, ok := res.Refs[c.ID]; !ok {
				res.Refs[c.ID] = *c.Username
			}
		}
	}
	for _, g := range snap.groups {
		current = append(current, groupObject(g))
	}
	changes, err := plan.Diff(plan.Input{Desired: append(desired, desiredGroups...), Current: current, Bindings: bindings})
	if err != nil {
		return nil, err
	}

	// Payloads. A contact PUT replaces its group memberships, so it must
	// carry the final set: the groups ldapply does not manage that hold
	// it now, plus the managed groups that will hold it and exist now.
	finalGroups := map[string][]string{} // contact id -> managed group ids
	for _, g := range desiredGroups {
		if _, exists := snap.groups[g.ID]; !exists {
			continue
		}
		for _, u := range g.Lists[listMembers] {
			finalGroups[u] = append(finalGroups[u], g.ID)
		}
	}
	for i := range changes {
		c := &changes[i]
		if c.After == nil || (c.Action == plan.Adopt && plan.Equal(c.Before, c.After)) {
			continue
		}
		var body any
		switch c.Kind {
		case plan.KindUser:
			body = p.contactPayload(c.After, snap, finalGroups[c.ID], boundGroups)
		case plan.KindGroup:
			body = Group{ID: c.ID, Name: c.After.Name, Users: nonNil(c.After.Lists[listMembers])}
		}
		if c.Payload, err = json.Marshal(body); err != nil {
			return nil, fmt.Errorf("icinga: encode %s %s: %w", c.Kind, c.Name(), err)
		}
	}
	// Keep only the refs the changes use. A member that came through a
	// nested group gets a ref of its own under "group id/member id".
	used := map[string]string{}
	for i := range changes {
		for _, o := range []*plan.Object{changes[i].Before, changes[i].After} {
			if o == nil {
				continue
			}
			for _, id := range o.Lists[listMembers] {
				if n, ok := res.Refs[id]; ok {
					used[id] = n
					if v, ok := nested[changes[i].ID+"/"+id]; ok {
						used[changes[i].ID+"/"+id] = n + " (via " + v + ")"
					}
				}
			}
		}
	}
	res.Refs = used
	res.Changes = changes
	return res, nil
}

func (p *Provider) contactPayload(o *plan.Object, snap *snapshot, managedGroups []string, boundGroups map[string]plan.Binding) Contact {
	username := o.Attrs[attrUsername]
	c := Contact{ID: o.ID, FullName: o.Attrs[attrFullName], Username: &username, DefaultChannel: o.Attrs[attrDefaultChannel], Addresses: map[string]string{}}
	groups := map[string]bool{}
	if cur, ok := snap.contacts[o.ID]; ok {
		// Address types ldapply does not manage stay as they are.
		for k, v := range cur.Addresses {
			if k != "email" {
				c.Addresses[k] = v
			}
		}
		for _, g := range cur.Groups {
			if _, managed := boundGroups[g]; !managed {
				groups[g] = true
			}
		}
	}
	for _, g := range managedGroups {
		groups[g] = true
	}
	if e := o.Attrs[attrEmail]; e != "" {
		c.Addresses["email"] = e
	}
	c.Groups = slices.Sorted(maps.Keys(groups))
	if c.Groups == nil {
		c.Groups = []string{}
	}
	return c
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// expandMembers records in out the contact ids of g's members, following
// nested groups: out[id] is "" for a direct member, else the name of the
// first nested group it came through. seen guards against cycles.
func expandMembers(g *plan.Entry, groups map[string]*plan.Entry, users map[string]string, out map[string]string, via string, seen map[string]bool) {
	if seen[g.NormDN] {
		return
	}
	seen[g.NormDN] = true
	for _, m := range g.Members {
		if id, ok := users[m]; ok {
			if prev, known := out[id]; !known || (prev != "" && via == "") {
				out[id] = via
			}
		} else if sub, ok := groups[m]; ok {
			v := via
			if v == "" {
				v = cmp.Or(sub.First("cn"), sub.DN)
			}
			expandMembers(sub, groups, users, out, v, seen)
		}
	}
}

// Apply performs one change. Creates and updates are PUTs (an upsert in
// Icinga, so a repeat after a crash is harmless); a delete of an object
// already gone succeeds.
func (p *Provider) Apply(ctx context.Context, c *plan.Change) error {
	var err error
	switch {
	case c.Action == plan.Delete && c.Kind == plan.KindUser:
		err = p.client.DeleteContact(ctx, c.ID)
	case c.Action == plan.Delete && c.Kind == plan.KindGroup:
		err = p.client.DeleteGroup(ctx, c.ID)
	case len(c.Payload) == 0:
		return nil // an adoption with nothing to send
	case c.Kind == plan.KindUser:
		_, err = p.client.PutContact(ctx, c.Payload)
	case c.Kind == plan.KindGroup:
		_, err = p.client.PutGroup(ctx, c.Payload)
	default:
		return fmt.Errorf("icinga: unknown kind %q in plan", c.Kind)
	}
	if c.Action == plan.Delete && IsNotFound(err) {
		return nil
	}
	return err
}

// Versions re-reads contacts and groups and returns their versions,
// computed as at plan time (apply's drift check).
func (p *Provider) Versions(ctx context.Context, kinds []plan.Kind) (map[plan.Kind]map[string]string, error) {
	snap, err := p.read(ctx)
	if err != nil {
		return nil, err
	}
	out := map[plan.Kind]map[string]string{plan.KindUser: {}, plan.KindGroup: {}}
	for id, c := range snap.contacts {
		out[plan.KindUser][id] = contactObject(c).Version
	}
	for id, g := range snap.groups {
		out[plan.KindGroup][id] = groupObject(g).Version
	}
	return out, nil
}
