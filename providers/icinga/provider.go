package icinga

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/providers/limits"
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
}

// New returns a provider for a resolved configuration (see
// [Config.Resolve]).
func New(cfg Config, version string, log *slog.Logger) (*Provider, error) {
	client, err := NewClient(ClientConfig{URL: cfg.URL, Username: cfg.Username, Password: cfg.Password, CACert: cfg.CACert, InsecureSkipVerify: cfg.InsecureSkipVerify, Timeout: cfg.Timeout, UserAgent: "ldapply/" + version})
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
	channels, err := p.client.Channels(ctx)
	if err != nil {
		return Channel{}, fmt.Errorf("icinga: read channels: %w", err)
	}
	return pickChannel(channels, p.cfg.Channel)
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
		return nil, fmt.Errorf("icinga: read contacts: %w", err)
	}
	in.seal() // the groups' users are the contacts: found in order
	// The contacts take the interner's strings for their ids, which the
	// groups' users will be: the plan compares them by pointer.
	for _, c := range contacts {
		c.ID = in.canonical(c.ID)
	}
	groups, err := p.client.groups(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("icinga: read contact groups: %w", err)
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

// heldContact is a contact as a snapshot holds it.
type heldContact struct {
	Contact
	// onlyEmail holds the email of a contact whose only address is its
	// email; Addresses is then nil (see compact).
	onlyEmail string
}

// contactHolder keeps the contacts as read for a plan, to its end: each
// in a shared block, with its strings in shared blocks too (see
// plan.Strings), and one string for each default channel.
type contactHolder struct {
	contacts  plan.Slab[heldContact]
	usernames plan.Slab[string]
	strs      plan.Strings
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
func contactObject(c *heldContact, objs *plan.Slab[plan.Object]) *plan.Object {
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

// Plan reads the target and computes the changes that make it match dir.
// It fills the returned plan's Changes, Refs, Warnings and Counts; the
// caller fills the header.
func (p *Provider) Plan(ctx context.Context, dir *plan.Directory, bindings plan.Bindings) (*plan.Plan, error) {
	// The desired side needs the directory and the channel alone: it is
	// drafted while the target's contacts and groups are still arriving.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if p.prefetched == nil {
		p.Prefetch(ctx)
	}
	// A Plan that fails early leaves no read behind for the next one.
	defer func() { p.prefetched, p.prefetchedChannel = nil, nil }()
	ch, err := prefetch.Take(ctx, &p.prefetchedChannel, p.readChannel)
	if err != nil {
		return nil, err
	}
	res := &plan.Plan{Counts: map[string]int{
		"source users": len(dir.Users), "source groups": len(dir.Groups),
		"managed users": len(bindings[plan.KindUser]), "managed groups": len(bindings[plan.KindGroup]),
	}}
	started := time.Now()
	d, err := p.draft(dir, bindings, ch)
	if err != nil {
		return nil, err
	}
	// The objects held by a limit are, from here on, not managed.
	bindings = limits.Without(bindings, d.held)
	p.debug("Drafted the contacts and contact groups the directory asks for.", "contacts", len(d.users), "groups", len(d.groups), "duration", time.Since(started))
	snap, err := prefetch.Take(ctx, &p.prefetched, p.readObjects)
	if err != nil {
		return nil, err
	}
	snap.channel = ch
	res.Counts["target contacts"], res.Counts["target contact groups"] = len(snap.contacts), len(snap.groups)
	res.Warnings = d.warnings
	problems := d.problems
	// The target's objects are built on another core meanwhile.
	currentCh := make(chan []*plan.Object, 1)
	go func() {
		current := make([]*plan.Object, 0, len(snap.ordered)+len(snap.groups))
		var objs plan.Slab[plan.Object] // held to the plan's end
		for _, c := range snap.ordered {
			current = append(current, contactObject(c, &objs))
		}
		for _, g := range snap.groups {
			current = append(current, groupObject(g))
		}
		currentCh <- current
	}()

	// The target's string for each id it shares with the directory: the
	// member lists and the diff then compare pointers, not text. Both
	// sides are in id order (Icinga lists by id), so one walk pairs them.
	byID := func(a, b *heldContact) int { return strings.Compare(a.ID, b.ID) }
	cs := snap.ordered
	if !slices.IsSortedFunc(cs, byID) {
		cs = slices.SortedFunc(slices.Values(cs), byID)
	}
	for r, j := 0, 0; r < len(d.byID); r++ {
		o := d.byID[r]
		for j < len(cs) && cs[j].ID < o.ID {
			j++
		}
		if j < len(cs) && cs[j].ID == o.ID {
			o.ID, d.uids[r] = cs[j].ID, cs[j].ID
		}
	}
	// The bound contacts by id are asked about only for contacts that are
	// not where the directory wants them, which an in-sync plan has none
	// of: the map of 100,000 is built on demand.
	boundUsers := sync.OnceValue(func() map[string]plan.Binding { return bindings.ByID(plan.KindUser) })
	managedUser := func(id string) bool {
		_, ok := boundUsers()[id]
		return ok
	}
	isDesiredUser := func(id string) bool {
		_, found := slices.BinarySearch(d.uids, id)
		return found
	}
	// A username held by a contact ldapply does not manage blocks the sync
	// of that user: Icinga would reject it at apply time. This is checked
	// on another core while the lists are made and compared.
	taken := make(chan []string, 1)
	go func() {
		var problems []string
		for _, c := range snap.ordered {
			if c.Username == nil {
				continue
			}
			if u, ok := d.byUsername[strings.ToLower(*c.Username)]; ok && u.id != c.ID && !managedUser(c.ID) {
				problems = append(problems, fmt.Sprintf("source user %s maps to username %q, which Icinga contact %s already has and ldapply does not manage; rename or delete that contact in Icinga", u.dn, *c.Username, c.ID))
			}
		}
		taken <- problems
	}()

	// The groups' member lists.
	boundGroups := bindings.ByID(plan.KindGroup)
	desiredGroups := d.groups
	for i, g := range desiredGroups {
		list := make([]string, len(d.ranks[i]))
		for j, r := range d.ranks[i] {
			list[j] = d.uids[r]
		}
		// Members ldapply does not manage (contacts made by hand) stay.
		// Both lists are sorted: one walk finds the members not desired.
		if cur, ok := snap.groups[g.ID]; ok {
			n, k := len(list), 0
			for _, u := range cur.Users {
				// Mostly the same string (both come from the target's
				// read): equal pointers, so no text is compared.
				if k < n && list[k] == u {
					k++
					continue
				}
				for k < n && list[k] < u {
					k++
				}
				if k < n && list[k] == u {
					continue
				}
				if managedUser(u) || isDesiredUser(u) {
					continue
				}
				list = append(list, u)
			}
			if len(list) > n {
				slices.Sort(list)
				list = slices.Compact(list)
			}
		}
		g.Lists = map[string][]string{listMembers: list}
	}
	for _, g := range snap.groups {
		if _, managed := boundGroups[g.ID]; managed {
			continue
		}
		if dn, ok := d.groupNameDN[strings.ToLower(g.Name)]; ok {
			res.Warnings = append(res.Warnings, fmt.Sprintf("group %s maps to name %q, which the unmanaged Icinga contact group %s also has", dn, g.Name, g.ID))
		}
	}

	current := <-currentCh
	started = time.Now()
	changes, err := plan.Diff(plan.Input{Desired: append(d.users, desiredGroups...), Current: current, Bindings: bindings})
	// The problems found here come first: they say what to fix.
	if problems = append(problems, <-taken...); len(problems) > 0 {
		slices.Sort(problems)
		return nil, &plan.ConflictError{Problems: problems}
	}
	if err != nil {
		return nil, err
	}
	p.debug("Compared them with Icinga's.", "changes", len(changes), "duration", time.Since(started))

	// The contacts a change touches get their groups (for the version
	// and the payload), then the objects changed their versions.
	need := map[string]bool{}
	for i := range changes {
		if changes[i].Kind == plan.KindUser {
			need[changes[i].ID] = true
		}
	}
	if len(need) > 0 {
		snap.fillGroups(need)
	}
	for i := range changes {
		if b := changes[i].Before; b != nil && b.Version == "" {
			b.Version = snap.version(b.Kind, b.ID)
		}
	}

	// Payloads. A contact PUT replaces its group memberships, so it must
	// carry the final set: the groups ldapply does not manage that hold
	// it now, plus the managed groups that will hold it and exist now.
	// Only the contacts a change touches need theirs.
	finalGroups := map[string][]string{} // contact id -> managed group ids
	for _, g := range desiredGroups {
		if _, exists := snap.groups[g.ID]; !exists || len(need) == 0 {
			continue
		}
		for _, u := range g.Lists[listMembers] {
			if need[u] {
				finalGroups[u] = append(finalGroups[u], g.ID)
			}
		}
	}
	// Each change's body is its own: they are encoded on every core (a
	// plan of 100,000 creates holds 2,000 lists of 1,000 members).
	workers := min(runtime.GOMAXPROCS(0), max(1, len(changes)/256))
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(changes); i += workers {
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
				var err error
				if c.Payload, err = json.Marshal(body); err != nil {
					errs[w] = fmt.Errorf("icinga: encode %s %s: %w", c.Kind, c.Name(), err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	// Refs name the members in the changes' lists: the desired username,
	// else the contact's. A member that came through a nested group gets
	// a Via entry naming that group. A contact is a member of many
	// groups: its name is added once. A desired group's list as drafted
	// is its ranks, which are walked instead of its ids; other lists
	// find a desired contact's rank by the address of its id.
	used := map[string]string{}
	var via map[plan.Via]string
	nested := 0 // Via entries the desired groups may need
	var rankOf *plan.Index[int32]
	var named []bool // by rank: in used
	var byList map[*string]int
	for i := range changes {
		nest := d.nested[changes[i].ID] // nil for most groups
		for _, o := range []*plan.Object{changes[i].Before, changes[i].After} {
			if o == nil || len(o.Lists[listMembers]) == 0 {
				continue
			}
			list := o.Lists[listMembers]
			if named == nil {
				named = make([]bool, len(d.uids))
				byList = make(map[*string]int, len(desiredGroups))
				for gi, g := range desiredGroups {
					if l := g.Lists[listMembers]; len(l) > 0 {
						byList[&l[0]] = gi
					}
					nested += len(d.nested[g.ID])
				}
				used = make(map[string]string, len(d.uids))
			}
			ref := func(r int32) {
				if !named[r] {
					named[r] = true
					used[d.uids[r]] = d.unames[r]
				}
				if v, ok := nest[r]; ok {
					if via == nil {
						via = make(map[plan.Via]string, nested)
					}
					via[plan.Via{Owner: changes[i].ID, Member: d.uids[r]}] = v
				}
			}
			if gi, ok := byList[&list[0]]; ok && len(list) == len(d.ranks[gi]) {
				for _, r := range d.ranks[gi] {
					ref(r)
				}
				continue
			}
			if rankOf == nil {
				rankOf = plan.NewIndex[int32](len(d.uids))
				for r, id := range d.uids {
					rankOf.Set(id, int32(r))
				}
			}
			for _, id := range list {
				if r, ok := rankOf.Get(id); ok {
					ref(r)
				} else if c, ok := snap.contacts[id]; ok && c.Username != nil {
					used[id] = *c.Username
				}
			}
		}
	}
	res.Refs = plan.Refs{Names: used, Via: via}
	p.debug("Planned the changes.", "duration", time.Since(started))
	res.Changes = changes
	return res, nil
}

// draft is the desired side of a plan, drafted from the directory alone.
type draft struct {
	users      []*plan.Object       // the desired contacts, in directory order
	byID       []*plan.Object       // the same, sorted by id
	uids       []string             // their ids, sorted: a member is a rank here
	unames     []string             // their usernames, by rank
	byUsername map[string]namedUser // lower(username) -> source user
	groups     []*plan.Object       // the desired groups, lists not yet filled
	ranks      [][]int32            // groups[i]'s members, as ranks in uids (the refs walk them)
	// nested names, by group id and the contact's rank, the group a
	// nested member came through.
	nested      map[string]map[int32]string
	groupNameDN map[string]string // lower(group name) -> source group DN
	// held holds, by kind, the keys of managed objects that Icinga
	// cannot store as the directory has them now: the plan leaves them
	// as they are (see leaveOut).
	held     map[plan.Kind][]string
	warnings []string
	problems []string
}

// leaveOut keeps the source entry e out of the plan because v says
// Icinga cannot store it. A new object is not created, and a user is
// left out of its groups' lists; a managed one is held: Plan takes it
// for an object it does not manage, so it is neither updated nor
// deleted, and its memberships stay. Either way the warning is given
// once, for the entry, not for each group that holds it.
func (d *draft) leaveOut(k plan.Kind, e *plan.Entry, bindings plan.Bindings, v limits.Violation) {
	_, managed := bindings[k][e.Key]
	if managed {
		if d.held == nil {
			d.held = map[plan.Kind][]string{}
		}
		d.held[k] = append(d.held[k], e.Key)
	}
	d.warnings = append(d.warnings, v.Warning(k, e.DN, "Icinga", managed))
}

// namedUser is a source user by DN and contact id.
type namedUser struct{ dn, id string }

// draft maps the directory's users and groups to contacts and contact
// groups. It releases dir's entries as it goes.
func (p *Provider) draft(dir *plan.Directory, bindings plan.Bindings, ch Channel) (*draft, error) {
	d := &draft{
		users:       make([]*plan.Object, 0, len(dir.Users)),
		byUsername:  make(map[string]namedUser, len(dir.Users)),
		nested:      map[string]map[int32]string{},
		groupNameDN: map[string]string{},
	}
	var buf bytes.Buffer
	var objs plan.Slab[plan.Object]                // the desired contacts, held to the plan's end
	desiredDN := make([]string, 0, len(dir.Users)) // NormDN of d.users[i]
	for _, e := range dir.Users {
		username, err := p.tmpl.username.Execute(e, &buf)
		if err != nil {
			return nil, fmt.Errorf("icinga: target.icinga.map.username for %s: %w", e.DN, err)
		}
		if username == "" {
			d.warnings = append(d.warnings, fmt.Sprintf("user %s has no username (map.username is empty) and is skipped", e.DN))
			continue
		}
		email, err := p.tmpl.email.Execute(e, &buf)
		if err != nil {
			return nil, fmt.Errorf("icinga: target.icinga.map.email for %s: %w", e.DN, err)
		}
		if email == "" && ch.Type == "email" {
			d.warnings = append(d.warnings, fmt.Sprintf("user %s (%s) has no email address and is skipped: an Icinga contact needs one for its email default channel", username, e.DN))
			continue
		}
		fullName, err := p.tmpl.fullName.Execute(e, &buf)
		if err != nil {
			return nil, fmt.Errorf("icinga: target.icinga.map.full_name for %s: %w", e.DN, err)
		}
		if fullName == "" {
			fullName = username
		}
		attrs := map[string]string{attrUsername: username, attrFullName: fullName, attrDefaultChannel: ch.ID}
		if email != "" {
			attrs[attrEmail] = email
		}
		if v, ok := Limits.Check(plan.KindUser, attrs); !ok {
			d.leaveOut(plan.KindUser, e, bindings, v)
			continue
		}
		lower := strings.ToLower(username)
		if other, dup := d.byUsername[lower]; dup {
			d.problems = append(d.problems, fmt.Sprintf("source users %s and %s both map to username %q; Icinga usernames are unique (case-insensitive): fix the directory or target.icinga.map.username", other.dn, e.DN, username))
			continue
		}
		var id string
		if b, ok := bindings[plan.KindUser][e.Key]; ok {
			id = b.ID
		} else {
			id = p.ContactID(e.Key, username)
		}
		d.byUsername[lower] = namedUser{e.DN, id}
		o := objs.New()
		*o = plan.Object{Kind: plan.KindUser, Key: e.Key, ID: id, Name: username, Attrs: attrs}
		d.users = append(d.users, o)
		desiredDN = append(desiredDN, e.NormDN)
	}
	// Members are collected as ranks in the sorted contact ids: they sort
	// as integers, and a rank gives the id and the username back.
	order := make([]int32, len(d.users))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return strings.Compare(d.users[a].ID, d.users[b].ID) })
	d.byID = make([]*plan.Object, len(order))
	d.uids = make([]string, len(order))
	d.unames = make([]string, len(order))
	// Member DNs are their users' NormDN strings (providers/ldap interns
	// them): an Index finds them by address.
	rankByDN := plan.NewIndex[int32](len(order))
	for r, i := range order {
		o := d.users[i]
		d.byID[r], d.uids[r], d.unames[r] = o, o.ID, o.Name
		rankByDN.Set(desiredDN[i], int32(r))
	}
	// The ids and the usernames, in rank order, each in one string of
	// their own: a group's members, walked by rank, are then read one
	// after another from memory (in the payloads, the plan file and the
	// plan's text), not each from wherever the heap put it, which at
	// 100,000 users is a cache miss each.
	packInOrder(d.uids)
	packInOrder(d.unames)
	for r, o := range d.byID {
		o.ID, o.Name, o.Attrs[attrUsername] = d.uids[r], d.unames[r], d.unames[r]
	}
	desiredDN, order = nil, nil
	// The user entries are done with (their NormDNs live on as keys of
	// rankByDN): clearing them lets the collector free them while the
	// groups are drafted, rather than at the plan's end.
	clear(dir.Users)

	groupByDN := make(map[string]*plan.Entry, len(dir.Groups))
	for _, g := range dir.Groups {
		groupByDN[g.NormDN] = g
	}
	var entries []*plan.Entry // the groups' entries, as d.groups
	for _, g := range dir.Groups {
		name, err := p.tmpl.groupName.Execute(g, &buf)
		if err != nil {
			return nil, fmt.Errorf("icinga: target.icinga.map.group_name for %s: %w", g.DN, err)
		}
		if name == "" {
			d.warnings = append(d.warnings, fmt.Sprintf("group %s has no name (map.group_name is empty) and is skipped", g.DN))
			continue
		}
		if v, ok := Limits.Check(plan.KindGroup, map[string]string{"name": name}); !ok {
			d.leaveOut(plan.KindGroup, g, bindings, v)
			continue
		}
		if other, dup := d.groupNameDN[strings.ToLower(name)]; dup {
			d.problems = append(d.problems, fmt.Sprintf("source groups %s and %s both map to group name %q: fix the directory, target.icinga.map.group_name or source.groups.exclude", other, g.DN, name))
			continue
		}
		d.groupNameDN[strings.ToLower(name)] = g.DN
		id := p.GroupID(g.Key, name)
		if b, ok := bindings[plan.KindGroup][g.Key]; ok {
			id = b.ID
		}
		d.groups = append(d.groups, &plan.Object{Kind: plan.KindGroup, Key: g.Key, ID: id, Name: name})
		entries = append(entries, g)
	}
	// The members, a million lookups at 100,000 users, are collected on
	// every core: the other reads are done or nearly so by now.
	d.ranks = make([][]int32, len(d.groups))
	workers := min(runtime.GOMAXPROCS(0), max(1, len(entries)/64))
	nested := make([]map[int32]string, len(entries))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			var ms []member // reused per group
			for i := w; i < len(entries); i += workers {
				ms = collectMembers(entries[i], groupByDN, rankByDN, ms[:0])
				d.ranks[i], nested[i] = memberRanks(entries[i], ms, rankByDN)
			}
		})
	}
	wg.Wait()
	for i, n := range nested {
		if n != nil {
			d.nested[d.groups[i].ID] = n
		}
	}
	// So are the group entries (nested group names live on in nested).
	clear(dir.Groups)
	return d, nil
}

func (p *Provider) contactPayload(o *plan.Object, snap *snapshot, managedGroups []string, boundGroups map[string]plan.Binding) Contact {
	c := Contact{ID: o.ID, FullName: o.Attrs[attrFullName], DefaultChannel: o.Attrs[attrDefaultChannel], Addresses: map[string]string{}}
	// An empty username is sent as null: a second contact with "" is a
	// 500 (api/icinga-notifications-v1.md §7).
	if username := o.Attrs[attrUsername]; username != "" {
		c.Username = &username
	}
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

// packInOrder makes ss substrings of one string holding them in order.
func packInOrder(ss []string) {
	n := 0
	for _, s := range ss {
		n += len(s)
	}
	var b strings.Builder
	b.Grow(n)
	for _, s := range ss {
		b.WriteString(s)
	}
	all, at := b.String(), 0
	for i, s := range ss {
		ss[i] = all[at : at+len(s)]
		at += len(s)
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// member is a contact id in a group: via is "" for a direct member, else
// the name of the nested group it came through.
type member struct {
	rank int32  // the contact id's rank in the sorted ids
	ord  int32  // 0 for direct members, else the order found
	via  string // "" for a direct member
}

// collectMembers appends g's members to ms, following nested groups, and
// returns them sorted by rank, one per rank: the direct membership if
// there is one, else the first nested group found.
func collectMembers(g *plan.Entry, groups map[string]*plan.Entry, users *plan.Index[int32], ms []member) []member {
	ms = appendMembers(g, groups, users, ms, "", nil)
	slices.SortFunc(ms, func(a, b member) int {
		return cmp.Or(cmp.Compare(a.rank, b.rank), cmp.Compare(a.ord, b.ord))
	})
	return slices.CompactFunc(ms, func(a, b member) bool { return a.rank == b.rank })
}

// memberRanks returns the ranks of group g's members (ms, from
// collectMembers), and by rank the group each nested member came through
// (nil when none did).
func memberRanks(g *plan.Entry, ms []member, rankByDN *plan.Index[int32]) (ranks []int32, nested map[int32]string) {
	via := func(r int32, v string) {
		if nested == nil {
			nested = map[int32]string{}
		}
		nested[r] = v
	}
	tm, ok := g.Attrs[plan.AttrTransitiveMembers]
	if !ok {
		ranks := make([]int32, len(ms))
		for i, m := range ms {
			ranks[i] = m.rank
			// The plan shows how a nested member got in: "dave (via dev)".
			if m.via != "" {
				via(m.rank, m.via)
			}
		}
		return ranks, nested
	}
	// The source resolved nesting (AD's in-chain rule), also through
	// groups it did not read.
	ranks = make([]int32, 0, len(tm))
	for _, dn := range tm {
		if r, ok := rankByDN.Get(dn); ok {
			ranks = append(ranks, r)
		}
	}
	slices.Sort(ranks)
	ranks = slices.Compact(ranks)
	for _, r := range ranks {
		v := "a nested group"
		if j, found := slices.BinarySearchFunc(ms, r, func(m member, r int32) int { return cmp.Compare(m.rank, r) }); found {
			v = ms[j].via
		}
		if v != "" {
			via(r, v)
		}
	}
	return ranks, nested
}

// appendMembers appends g's members, found through via; seen, made at
// the first nested group, guards against cycles.
func appendMembers(g *plan.Entry, groups map[string]*plan.Entry, users *plan.Index[int32], ms []member, via string, seen map[string]bool) []member {
	for m := range g.Members.All() {
		if r, ok := users.Get(m); ok {
			var ord int32
			if via != "" {
				ord = int32(len(ms) + 1)
			}
			ms = append(ms, member{rank: r, via: via, ord: ord})
			continue
		}
		sub, ok := groups[m]
		if !ok {
			continue
		}
		if seen == nil {
			seen = map[string]bool{g.NormDN: true}
		}
		if seen[sub.NormDN] {
			continue
		}
		seen[sub.NormDN] = true
		v := via
		if v == "" {
			v = cmp.Or(sub.First("cn"), sub.DN)
		}
		ms = appendMembers(sub, groups, users, ms, v, seen)
	}
	return ms
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
	snap.fillGroups(nil)
	for id := range snap.contacts {
		out[plan.KindUser][id] = snap.version(plan.KindUser, id)
	}
	for id := range snap.groups {
		out[plan.KindGroup][id] = snap.version(plan.KindGroup, id)
	}
	return out, nil
}
