package icinga

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/ldapply/ldapply/internal/arena"
	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/providers"
	"github.com/ldapply/ldapply/providers/mapping"
	"github.com/ldapply/ldapply/providers/prefetch"
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
	tmpl   struct{ username, fullName, email, groupName *mapping.Template }
	// prefetched and prefetchedChannel are the reads Prefetch started,
	// if any.
	prefetched        *prefetch.Read[*snapshot]
	prefetchedChannel *prefetch.Read[Channel]

	// applySnap is the target as read for the apply in progress (see
	// applySnapshot), groupsWritten whether a group was written since,
	// written the ids of the objects the plan writes (see Prepare);
	// applyMu guards them, for Apply runs on several goroutines.
	applyMu       sync.Mutex
	applySnap     *snapshot
	groupsWritten bool
	written       map[string]bool
}

// New returns a provider for a resolved configuration (see
// [Config.Resolve]).
func New(cfg Config, env providers.Env) (*Provider, error) {
	version, log := env.Version, env.Log
	client, err := NewClient(ClientConfig{URL: cfg.URL, Username: cfg.Username, Password: cfg.Password, CACert: cfg.CACert, InsecureSkipVerify: cfg.InsecureSkipVerify, Timeout: cfg.Timeout, ConnectTimeout: cfg.ConnectTimeout, Log: log, UserAgent: "ldapply/" + version})
	if err != nil {
		return nil, err
	}
	if cfg.InsecureSkipVerify && log != nil {
		log.Warn("TLS certificate verification of Icinga is off (target.icinga.insecure_skip_verify): anyone between ldapply and Icinga can read its password; use target.icinga.ca_cert instead.", "url", cfg.URL)
	}
	p := &Provider{cfg: cfg, client: client, log: log, ns: uuid.MustParse(cfg.Namespace)}
	for _, t := range []struct {
		dst  **mapping.Template
		name string
		text string
	}{
		{&p.tmpl.username, "username", cfg.Map.Username},
		{&p.tmpl.fullName, "full_name", cfg.Map.FullName},
		{&p.tmpl.email, "email", cfg.Map.Email},
		{&p.tmpl.groupName, "group_name", cfg.Map.GroupName},
	} {
		if *t.dst, err = mapping.Parse(t.name, t.text); err != nil {
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
	contacts map[string]*heldContact
	ordered  []*heldContact // the contacts as read: by id, as Icinga lists them
	groups   map[string]*Group
}

func (p *Provider) read(ctx context.Context) (*snapshot, error) {
	ch, err := p.readChannel(ctx)
	if err != nil {
		return nil, err
	}
	s, err := p.readObjects(ctx)
	if err != nil {
		return nil, err
	}
	s.channel = ch
	return s, nil
}

// readChannel reads the channels and picks the default one.
func (p *Provider) readChannel(ctx context.Context) (Channel, error) {
	// The client's errors name the target and the request ("icinga: GET
	// channels: …"); wrapping them again would repeat both.
	channels, err := p.client.Channels(ctx)
	if err != nil {
		return Channel{}, err
	}
	ch, err := pickChannel(channels, p.cfg.Channel)
	if err != nil {
		return Channel{}, err
	}
	ch.names = make(map[string]string, len(channels))
	for _, c := range channels {
		ch.names[c.ID] = c.Name
	}
	return ch, nil
}

// readObjects reads the contacts and contact groups; the snapshot's
// channel is left to the caller.
func (p *Provider) readObjects(ctx context.Context) (*snapshot, error) {
	start := time.Now()
	// One interner for both lists: a group's users are the contacts' ids.
	in := newInterner()
	// Each contact is held on its own as it arrives: no slice of 100,000
	// structs grows by doubling and is then copied.
	var contacts []*heldContact
	var hold contactHolder
	err := p.client.eachContact(ctx, in, false, func() { contacts = nil }, func(v *Contact) {
		contacts = append(contacts, hold.hold(v))
	})
	if err != nil {
		return nil, err // it names the request, as readChannel's
	}
	in.seal() // the groups' users are the contacts: found in order
	// The contacts take the interner's strings for their ids, which the
	// groups' users will be: the plan compares them by pointer.
	for _, c := range contacts {
		c.ID = in.canonical(c.ID)
	}
	groups, err := p.client.groups(ctx, in)
	if err != nil {
		return nil, err
	}
	s := &snapshot{contacts: make(map[string]*heldContact, len(contacts)), ordered: contacts, groups: make(map[string]*Group, len(groups))}
	for _, c := range contacts {
		s.contacts[c.ID] = c
	}
	for i := range groups {
		s.groups[groups[i].ID] = &groups[i]
	}
	if p.log != nil {
		p.log.Info("Read Icinga's contacts and contact groups.", "contacts", len(contacts), "groups", len(groups), "duration", time.Since(start).Round(time.Millisecond))
	}
	return s, nil
}

// Prefetch starts reading the target in the background, so that the read
// overlaps the directory's; the next Plan uses its result. The channels
// come on their own: Plan drafts the desired side with them while the
// contacts and groups are still arriving.
func (p *Provider) Prefetch(ctx context.Context) {
	p.prefetchedChannel = prefetch.Start(ctx, p.readChannel)
	p.prefetched = prefetch.Start(ctx, p.readObjects)
}

// debug logs at debug level, if there is a logger.
func (p *Provider) debug(msg string, args ...any) {
	if p.log != nil {
		p.log.Debug(msg, args...)
	}
}

// pickChannel finds the default channel by id, then name, then type;
// each compared apart from case, as Icinga compares names.
func pickChannel(channels []Channel, want string) (Channel, error) {
	var byName, byType []Channel
	for _, c := range channels {
		if strings.EqualFold(c.ID, want) {
			return c, nil
		}
		if strings.EqualFold(c.Name, want) {
			byName = append(byName, c)
		}
		if strings.EqualFold(c.Type, want) {
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

// heldContact is a contact as a snapshot holds it.
type heldContact struct {
	Contact
	// onlyEmail holds the email of a contact whose only address is its
	// email; Addresses is then nil (see compact).
	onlyEmail string
}

// contactHolder keeps the contacts as read for a plan, to its end: each
// in a shared block, with its strings in shared blocks too (see
// arena.Strings), and one string for each default channel.
type contactHolder struct {
	contacts  arena.Slab[heldContact]
	usernames arena.Slab[string]
	strs      arena.Strings
	channels  map[string]string
}

// hold returns the contact v as held, compacted.
func (h *contactHolder) hold(v *Contact) *heldContact {
	c := h.contacts.New()
	c.Contact = *v
	c.compact()
	c.FullName, c.onlyEmail = h.strs.Add(c.FullName), h.strs.Add(c.onlyEmail)
	if c.Username != nil {
		u := h.usernames.New()
		*u = h.strs.Add(*c.Username)
		c.Username = u
	}
	if h.channels == nil {
		h.channels = map[string]string{}
	}
	ch, ok := h.channels[c.DefaultChannel]
	if !ok {
		ch = c.DefaultChannel
		h.channels[ch] = ch
	}
	c.DefaultChannel = ch
	return c
}

// compact drops the Addresses map of a contact whose only address is
// an email, keeping the email: a map holding one entry, for each
// contact, from the read to the plan's end, costs far more memory than
// the string it holds.
func (c *heldContact) compact() {
	if e, ok := c.Addresses["email"]; ok && len(c.Addresses) == 1 {
		c.onlyEmail, c.Addresses = e, nil
	}
}

// email returns the contact's email address, if it has one.
func (c *heldContact) email() (string, bool) {
	if c.Addresses == nil && c.onlyEmail != "" {
		return c.onlyEmail, true
	}
	e, ok := c.Addresses["email"]
	return e, ok
}

// asRead returns the contact as the server sent it (Addresses whole).
func (c *heldContact) asRead() *Contact {
	r := c.Contact
	if r.Addresses == nil && c.onlyEmail != "" {
		r.Addresses = map[string]string{"email": c.onlyEmail}
	}
	return &r
}

// contactObject turns a contact as read into a plan object, taken from
// objs.
func contactObject(c *heldContact, objs *arena.Slab[plan.Object]) *plan.Object {
	name := ""
	if c.Username != nil {
		name = *c.Username
	}
	o := objs.New()
	*o = plan.Object{Kind: plan.KindUser, ID: c.ID, Name: name, Attrs: map[string]string{
		attrUsername:       name,
		attrFullName:       c.FullName,
		attrDefaultChannel: c.DefaultChannel,
	}}
	if e, ok := c.email(); ok {
		o.Attrs[attrEmail] = e
	}
	return o
}

func groupObject(g *Group) *plan.Object {
	return &plan.Object{Kind: plan.KindGroup, ID: g.ID, Name: g.Name,
		Lists: map[string][]string{listMembers: g.Users}}
}

// fillGroups sets the Groups of the contacts in need (all when need is
// nil) from the groups' users lists, sorted: the contacts list was read
// without them (see Client.eachContact).
func (s *snapshot) fillGroups(need map[string]bool) {
	for _, c := range s.contacts {
		if need == nil || need[c.ID] {
			c.Groups = []string{}
		}
	}
	for _, g := range s.groups {
		for _, u := range g.Users {
			if need != nil && !need[u] {
				continue // need is small: asked first, it spares most lookups in contacts
			}
			if c, ok := s.contacts[u]; ok {
				c.Groups = append(c.Groups, g.ID)
			}
		}
	}
	for _, c := range s.contacts {
		if need == nil || need[c.ID] {
			slices.Sort(c.Groups)
		}
	}
}

// version returns the version of the object of kind and id as read, or
// "" if the target does not have it. Only the objects a plan touches
// need one, so it is computed for those alone.
func (s *snapshot) version(kind plan.Kind, id string) string {
	switch kind {
	case plan.KindUser:
		if c, ok := s.contacts[id]; ok {
			return plan.VersionOf(c.asRead())
		}
	case plan.KindGroup:
		if g, ok := s.groups[id]; ok {
			return plan.VersionOf(g)
		}
	}
	return ""
}

// SourceAttributes names the user attributes the mapping reads, so the
// source asks for those alone; nil means every attribute.
func (p *Provider) SourceAttributes() []string {
	return mapping.Attributes(p.tmpl.username, p.tmpl.fullName, p.tmpl.email)
}

// contactBody is the PUT body of contact o (a change's After) as apply
// sends it: the managed fields exactly as o has them; the addresses of
// other types and the group memberships as cur, the contact as read at
// apply time (nil when Icinga does not have it), holds them. A contact
// PUT replaces all of them (api/icinga-notifications-v1.md §2): the
// groups go back as they are, and the group changes, applied after the
// contacts, change the memberships.
func contactBody(o *plan.Object, cur *heldContact) Contact {
	c := Contact{ID: o.ID, FullName: o.Attrs[attrFullName], DefaultChannel: o.Attrs[attrDefaultChannel], Addresses: map[string]string{}, Groups: []string{}}
	// An empty username is sent as null: a second contact with "" is a
	// 500 (api/icinga-notifications-v1.md §7).
	if username := o.Attrs[attrUsername]; username != "" {
		c.Username = &username
	}
	if cur != nil {
		for k, v := range cur.Addresses {
			if k != attrEmail {
				c.Addresses[k] = v
			}
		}
		c.Groups = append(c.Groups, cur.Groups...)
	}
	if e := o.Attrs[attrEmail]; e != "" {
		c.Addresses[attrEmail] = e
	}
	return c
}
