package icinga

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/uuid"

	"github.com/ldapply/ldapply/providers/httpapi"
)

// ClientConfig configures a [Client].
type ClientConfig struct {
	// URL is the API base, e.g.
	// https://icinga.example.com/icingaweb2/notifications/api/v1; a
	// trailing slash is tolerated.
	URL string
	// Username and Password are the Icinga Web 2 credentials sent with
	// HTTP Basic auth. The user needs module/notifications and
	// notifications/api.
	Username, Password string
	// CACert is the path of a PEM file of CA certificates to trust instead
	// of the system roots. CAPEM is the same given as bytes; set at most
	// one of them.
	CACert string
	CAPEM  []byte
	// InsecureSkipVerify turns TLS certificate verification off.
	InsecureSkipVerify bool
	// Timeout bounds each silence of a request once connected (see
	// httpapi.Config.Timeout); 0 means 30s. ConnectTimeout bounds the TCP
	// connection and the TLS handshake, each; 0 means 10s.
	Timeout, ConnectTimeout time.Duration
	// Log receives the lines of requests that wait and of retried
	// network failures; nil discards them.
	Log *slog.Logger
	// Retries is how many times a transient failure (see [IsTransient]) is
	// retried; 0 means 4 and a negative value means none. A write's 500
	// (a serialization failure) is retried more often: 9 times, or
	// Retries when that is more.
	Retries int
	// UserAgent is sent as User-Agent; empty means "ldapply".
	UserAgent string
}

// Contact is a contact as the API reads and writes it. Groups and
// Addresses are never null in answers.
type Contact struct {
	ID             string            `json:"id"`
	FullName       string            `json:"full_name"`
	Username       *string           `json:"username"`
	DefaultChannel string            `json:"default_channel"`
	Groups         []string          `json:"groups"`
	Addresses      map[string]string `json:"addresses"`
}

// Group is a contact group as the API reads and writes it; Users holds
// contact ids.
type Group struct {
	ID    string   `json:"id"`
	Name  string   `json:"name"`
	Users []string `json:"users"`
}

// Channel is a read-only notification channel. Config is the channel's
// configuration object as sent; it may hold secrets, so do not print it.
type Channel struct {
	ID     string          `json:"id"`
	Name   string          `json:"name"`
	Type   string          `json:"type"`
	Config json.RawMessage `json:"config"`
	// names holds every channel's name by id, as readChannel found them:
	// plans show a contact's default channel by name.
	names map[string]string
}

// Client is a typed client of the Icinga Notifications Web REST API v1.
// Every method is idempotent and retries transient failures (see
// package httpapi). A Client is safe for concurrent use.
type Client struct {
	user string
	base string // the API base URL, ending in "/"
	api  *httpapi.Client

	// sleep waits between attempts (tests replace it to record delays).
	sleep func(ctx context.Context, d time.Duration) error
}

const (
	defaultTimeout = 30 * time.Second
	defaultRetries = 4
)

// The retry policy of a write's serialization failure (a 500 on a PUT or
// DELETE, §8 of the API contract): it clears as soon as the write it
// overlapped commits, which takes one request's time, so the first retry
// comes soon; but when several writers keep colliding, five attempts were
// not always enough on the real server (up to nine were needed), so it
// gets ten, with waits that double up to a second and a half so that the
// writers spread out.
const (
	conflictAttempts = 10
	conflictBase     = 50 * time.Millisecond
	conflictMax      = 1500 * time.Millisecond
)

// NewClient checks cfg and returns a client. It does not contact the
// server.
func NewClient(cfg ClientConfig) (*Client, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("icinga: bad URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("icinga: URL %q must be absolute http or https, like https://icinga.example.com/icingaweb2/notifications/api/v1", cfg.URL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("icinga: URL %q must not have a query or fragment", cfg.URL)
	}
	if cfg.Username == "" {
		return nil, errors.New("icinga: username is empty")
	}
	connect := cmp.Or(max(cfg.ConnectTimeout, 0), httpapi.DefaultConnectTimeout)
	transport := httpapi.SetConnectTimeout(httpapi.Transport(), connect)
	if transport.TLSClientConfig, err = httpapi.TLS(cfg.CACert, cfg.CAPEM, cfg.InsecureSkipVerify); err != nil {
		return nil, fmt.Errorf("icinga: %w", err)
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	retries := cfg.Retries
	switch {
	case retries == 0:
		retries = defaultRetries
	case retries < 0:
		retries = 0
	}
	policy := httpapi.Policy{Attempts: retries + 1, ContentionAttempts: 1, ContentionBase: conflictBase, ContentionMax: conflictMax}
	if retries > 0 {
		policy.ContentionAttempts = max(conflictAttempts, retries+1)
	}
	c := &Client{user: cfg.Username, base: strings.TrimRight(u.String(), "/") + "/", sleep: httpapi.Sleep}
	c.api = httpapi.New(httpapi.Config{
		Target:  "icinga",
		BaseURL: c.base,
		// Never follow: a redirect means the login page (see explain).
		HTTP:           &http.Client{Transport: transport, CheckRedirect: httpapi.NoRedirect},
		Timeout:        timeout,
		ConnectTimeout: connect,
		Log:            cfg.Log,
		Policy:         policy,
		Username:       cfg.Username,
		Password:       cfg.Password,
		UserAgent:      cfg.UserAgent,
		MaxBody:        maxResponseBytes,
		Explain:        c.explain,
		Sleep:          func(ctx context.Context, d time.Duration) error { return c.sleep(ctx, d) },
	})
	return c, nil
}

// maxResponseBytes caps an answer read into memory (lists are streamed).
const maxResponseBytes = 256 << 20

// ContentionSignals returns how many answers so far meant the server had
// too much at once: a write's 500 (a serialization failure), 429 or 503.
func (c *Client) ContentionSignals() int64 { return c.api.ContentionSignals() }

// Channels returns every channel, sorted by id.
func (c *Client) Channels(ctx context.Context) ([]Channel, error) {
	var out []Channel
	return out, c.list(ctx, "channels", func() { out = nil }, func(dec *jsontext.Decoder) error {
		var ch Channel
		err := jsonv2.UnmarshalDecode(dec, &ch)
		out = append(out, ch)
		return err
	})
}

// Contacts returns every contact, sorted by id.
func (c *Client) Contacts(ctx context.Context) ([]Contact, error) {
	var out []Contact
	return out, c.eachContact(ctx, newInterner(), true, func() { out = nil }, func(v *Contact) { out = append(out, *v) })
}

// Groups returns every contact group, sorted by id.
func (c *Client) Groups(ctx context.Context) ([]Group, error) {
	return c.groups(ctx, newInterner())
}

// eachContact reads the contacts and hands each to each (after reset,
// which a retried request calls again); ids in lists come from in, and
// each contact's id is added to it, so groups read later share the
// strings.
// Without withGroups, each contact's Groups stays nil: the same
// memberships are in the groups' users lists, and skipping them here
// saves decoding and holding 2,000,000 ids in a large directory.
func (c *Client) eachContact(ctx context.Context, in *interner, withGroups bool, reset func(), each func(*Contact)) error {
	var scratch idScratch
	return c.list(ctx, "contacts", reset, func(dec *jsontext.Decoder) error {
		var v Contact
		if withGroups {
			var g struct {
				Contact
				Groups idList `json:"groups"`
			}
			g.Groups.in, g.Groups.scratch = in, &scratch
			if err := jsonv2.UnmarshalDecode(dec, &g); err != nil {
				return err
			}
			v, v.Groups = g.Contact, g.Groups.ids
		} else {
			var ng struct {
				Contact
				Groups ignored `json:"groups"`
			}
			if err := jsonv2.UnmarshalDecode(dec, &ng); err != nil {
				return err
			}
			v = ng.Contact
		}
		v.ID = in.contact(strings.ToLower(v.ID))
		each(&v)
		return nil
	})
}

// groups reads the contact groups, with ids in lists from in; each
// group's users are sorted.
func (c *Client) groups(ctx context.Context, in *interner) ([]Group, error) {
	var out []Group
	var scratch idScratch
	return out, c.list(ctx, "contact-groups", func() { out = nil }, func(dec *jsontext.Decoder) error {
		var v struct {
			Group
			Users idList `json:"users"`
		}
		v.Users.in, v.Users.scratch = in, &scratch
		if err := jsonv2.UnmarshalDecode(dec, &v); err != nil {
			return err
		}
		v.Group.ID = in.get([]byte(strings.ToLower(v.Group.ID)))
		v.Group.Users = v.Users.ids
		if !v.Users.sorted {
			slices.Sort(v.Group.Users)
		}
		out = append(out, v.Group)
		return nil
	})
}

// PutContact creates or fully replaces the contact whose id is the "id"
// field of body, a JSON object as the API expects it. Omitted username,
// groups and addresses are cleared. created reports whether the contact
// did not exist (201) rather than being replaced (204). The id must be
// lowercase.
func (c *Client) PutContact(ctx context.Context, body []byte) (created bool, err error) {
	return c.put(ctx, "contacts", "contact", body)
}

// PutGroup creates or fully replaces the contact group whose id is the
// "id" field of body; an omitted users list empties the group. created is
// as for PutContact.
func (c *Client) PutGroup(ctx context.Context, body []byte) (created bool, err error) {
	return c.put(ctx, "contact-groups", "contact group", body)
}

// DeleteContact deletes a contact, which also removes it from every group.
// A contact that does not exist gives an error for which [IsNotFound] is
// true.
func (c *Client) DeleteContact(ctx context.Context, id string) error {
	return c.delete(ctx, "contacts", "contact", id)
}

// DeleteGroup deletes a contact group; its member contacts stay. A group
// that does not exist gives an error for which [IsNotFound] is true.
func (c *Client) DeleteGroup(ctx context.Context, id string) error {
	return c.delete(ctx, "contact-groups", "contact group", id)
}

// list reads endpoint's {"data": [...]} answer as a stream, calling each
// once per element with the decoder positioned at it; each must decode
// exactly one value. Memory stays at one element however long the list:
// 100,000 contacts never sit in memory as text. A retried request calls
// reset first, so each sees a fresh list.
func (c *Client) list(ctx context.Context, endpoint string, reset func(), each func(*jsontext.Decoder) error) error {
	_, err := c.doStream(ctx, http.MethodGet, endpoint, func(h http.Header, body io.Reader) error {
		if mt, _, _ := mime.ParseMediaType(h.Get("Content-Type")); mt != "application/json" {
			return &notJSONError{ct: h.Get("Content-Type")}
		}
		reset()
		return decodeList(body, each)
	})
	var nj *notJSONError
	if errors.As(err, &nj) {
		return fmt.Errorf("icinga: GET %s: the answer is %q, not JSON; check that target.icinga.url is the API base ending in /icingaweb2/notifications/api/v1", endpoint, nj.ct)
	}
	return err
}

type notJSONError struct{ ct string }

func (e *notJSONError) Error() string { return "the answer is " + e.ct + ", not JSON" }

// decodeList walks {"data": [...]} (other keys are skipped) and calls
// each per element of data. It reads with encoding/json/v2's streaming
// decoder (github.com/go-json-experiment/json), faster than
// encoding/json's on the lists of a large directory (bench/fast-paths.md
// has the figure), and as lenient as encoding/json: names match
// case-insensitively, and duplicate names and invalid UTF-8 are
// accepted.
func decodeList(r io.Reader, each func(*jsontext.Decoder) error) error {
	dec := jsontext.NewDecoder(r, jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true), jsonv2.MatchCaseInsensitiveNames(true))
	bad := func(err error) error {
		return fmt.Errorf("the answer is not {\"data\": [...]}: %w", err)
	}
	if err := expectDelim(dec, '{'); err != nil {
		return bad(err)
	}
	found := false
	for dec.PeekKind() == '"' {
		tok, err := dec.ReadToken()
		if err != nil {
			return bad(err)
		}
		if tok.String() != "data" {
			if err := dec.SkipValue(); err != nil {
				return bad(err)
			}
			continue
		}
		if err := expectDelim(dec, '['); err != nil {
			return bad(err)
		}
		for k := dec.PeekKind(); k != ']'; k = dec.PeekKind() {
			if k == 0 { // the input ended or is broken: ReadToken says how
				_, err := dec.ReadToken()
				return bad(err)
			}
			if err := each(dec); err != nil {
				return bad(err)
			}
		}
		if err := expectDelim(dec, ']'); err != nil {
			return bad(err)
		}
		found = true
	}
	if err := expectDelim(dec, '}'); err != nil {
		return bad(err)
	}
	if !found {
		return bad(errors.New("no data list"))
	}
	return nil
}

func expectDelim(dec *jsontext.Decoder, want jsontext.Kind) error {
	tok, err := dec.ReadToken()
	if err != nil {
		return err
	}
	if tok.Kind() != want {
		return fmt.Errorf("found %v where %q belongs", tok, want.String())
	}
	return nil
}

// interner hands out one string per distinct id: the 2,000,000
// memberships of a large directory name only 100,000 contacts and 2,000
// groups, so the lists share their strings instead of holding copies.
// Ids in the lower-case UUID form Icinga uses are found by their 16
// bytes, which the map holds inline: no string to follow and compare on
// each lookup. Any other id is found as text.
//
// Once sealed (the contacts read, the groups not yet), it also holds the
// UUIDs it has in order, their first 8 bytes in an array of their own:
// 800 KB at 100,000 contacts, which stays in a core's cache. A sorted
// list of ids is then found by walking forward through that array (see
// resolve), not by a hash lookup per id: at 100,000 contacts the map no
// longer fits in the caches, so each of those lookups would miss them.
// The UUIDs' last 8 bytes are in an array of their own too, and their
// strings are one string, in the same order: the i-th is where i says,
// so a found id costs one more read (of its last 8 bytes), not a read of
// a 32-byte record in 3 MB for each of 2,000,000 members.
type interner struct {
	uuids  map[[16]byte]string
	other  map[string]string
	sealed bool
	staged []orderedID // the UUIDs interned before seal, in that order
	his    []uint64    // after seal: the UUIDs' first 8 bytes, ascending
	los    []uint64    // their last 8 bytes, by the same index
	texts  string      // their strings, uuidLen bytes each, by the same index
}

// uuidLen is the length of a UUID's text.
const uuidLen = 36

// orderedID is a UUID id in the interner's order: its 16 bytes as two
// big-endian halves, and its string.
type orderedID struct {
	hi, lo uint64
	s      string
}

func newInterner() *interner {
	return &interner{uuids: map[[16]byte]string{}, other: map[string]string{}}
}

func (in *interner) get(b []byte) string {
	if k, ok := uuidKey(b); ok {
		if s, ok := in.known(k); ok {
			return s
		}
		return in.add(k, string(b))
	}
	if s, ok := in.other[string(b)]; ok {
		return s
	}
	s := string(b)
	in.other[s] = s
	return s
}

// contact interns the id of a contact, as read before the seal: a UUID
// is only staged for resolve, which is all that looks contacts up, and
// keeps the string it came in. That spares 100,000 inserts into a map
// that would grow step by step while the contacts arrive.
func (in *interner) contact(id string) string {
	k, ok := uuidKey(id)
	if !ok || in.sealed {
		return in.get([]byte(id))
	}
	in.staged = append(in.staged, ordered(k, id))
	return id
}

// byKey returns the string of the UUID whose bytes are k.
func (in *interner) byKey(k [16]byte) string {
	if s, ok := in.known(k); ok {
		return s
	}
	return in.add(k, uuid.UUID(k).String()) // the lower-case form uuidKey reads
}

func (in *interner) add(k [16]byte, s string) string {
	in.uuids[k] = s
	if !in.sealed {
		in.staged = append(in.staged, ordered(k, s))
	}
	return s
}

// known returns the string of the UUID k if it has one: from the map,
// or after the seal from the ordered contacts.
func (in *interner) known(k [16]byte) (string, bool) {
	if s, ok := in.uuids[k]; ok {
		return s, true
	}
	id := ordered(k, "")
	i, _ := slices.BinarySearch(in.his, id.hi)
	return in.sealedAt(i, id)
}

// sealedAt returns the string of the sealed UUID id, if there is one at
// index i or after it among those with the same first half.
func (in *interner) sealedAt(i int, id orderedID) (string, bool) {
	for ; i < len(in.his) && in.his[i] == id.hi; i++ {
		if in.los[i] == id.lo {
			return in.texts[i*uuidLen : (i+1)*uuidLen], true
		}
	}
	return "", false
}

// canonical returns the interner's string for id, which was interned:
// after the seal, a sealed UUID's string is a part of texts, not the
// string it came in.
func (in *interner) canonical(id string) string {
	if k, ok := uuidKey(id); ok {
		if s, ok := in.known(k); ok {
			return s
		}
	}
	return id
}

// seal orders the UUIDs interned so far for resolve; later ones are
// found by their map alone. The contacts arrive sorted by id, so there
// is seldom anything to sort.
func (in *interner) seal() {
	if in.sealed {
		return
	}
	in.sealed = true
	ids := in.staged
	in.staged = nil
	if !slices.IsSortedFunc(ids, compareOrdered) {
		slices.SortFunc(ids, compareOrdered)
	}
	in.his, in.los = make([]uint64, len(ids)), make([]uint64, len(ids))
	var texts strings.Builder
	texts.Grow(len(ids) * uuidLen)
	for i, id := range ids {
		in.his[i], in.los[i] = id.hi, id.lo
		texts.WriteString(id.s) // uuidKey took it: uuidLen bytes
	}
	in.texts = texts.String()
	// The map's strings for the same UUIDs (interned by get before the
	// seal) become these too: one string per id.
	if len(in.uuids) > 0 {
		for i := range ids {
			var k [16]byte
			binary.BigEndian.PutUint64(k[:8], in.his[i])
			binary.BigEndian.PutUint64(k[8:], in.los[i])
			if _, ok := in.uuids[k]; ok {
				in.uuids[k] = in.texts[i*uuidLen : (i+1)*uuidLen]
			}
		}
	}
}

// ordered returns the UUID k, with the string s, as two big-endian
// halves: they order as its bytes do, and so as its lower-case text.
func ordered(k [16]byte, s string) orderedID {
	return orderedID{binary.BigEndian.Uint64(k[:8]), binary.BigEndian.Uint64(k[8:]), s}
}

func compareOrdered(a, b orderedID) int {
	return cmp.Or(cmp.Compare(a.hi, b.hi), cmp.Compare(a.lo, b.lo))
}

// compareKeys orders UUIDs by their bytes.
func compareKeys(a, b [16]byte) int { return compareOrdered(ordered(a, ""), ordered(b, "")) }

// resolve appends the strings of keys, which must be sorted, to out.
// Each key is searched for from where the one before it was found:
// gallop forward through his, then search the last step's range.
func (in *interner) resolve(keys [][16]byte, out []string) []string {
	his, at := in.his, 0
	for _, k := range keys {
		id := ordered(k, "")
		// The first index at or after at whose first half is not below id's.
		lo, step := at, 1
		for lo+step <= len(his) && his[lo+step-1] < id.hi {
			lo += step
			step *= 2
		}
		at = lo + sort.Search(min(step, len(his)-lo), func(j int) bool { return his[lo+j] >= id.hi })
		s, ok := in.sealedAt(at, id)
		if !ok { // not a contact read before the seal (seldom)
			s = in.byKey(k)
		}
		out = append(out, s)
	}
	return out
}

// uuidKey returns the 16 bytes of a UUID written as 36 lower-case hex
// digits and dashes (8-4-4-4-12). Upper case is refused, so one key
// never stands for two spellings.
func uuidKey[T ~string | ~[]byte](b T) (k [16]byte, ok bool) {
	if len(b) != 36 || b[8] != '-' || b[13] != '-' || b[18] != '-' || b[23] != '-' {
		return k, false
	}
	var bad byte // a byte of hexValue's above 0x0f: not a digit
	for n, i := range uuidDigits {
		hi, lo := hexValue[b[i]], hexValue[b[i+1]]
		bad |= hi | lo
		k[n] = hi<<4 | lo
	}
	return k, bad <= 0x0f
}

// uuidDigits are the offsets of a UUID's 16 pairs of hex digits.
var uuidDigits = [16]int{0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34}

// hexValue holds the value of each lower-case hex digit, and 0xff for
// every other byte (one table read a digit: 2,000,000 ids at 100,000
// users).
var hexValue = func() (t [256]byte) {
	for c := range t {
		switch {
		case '0' <= c && c <= '9':
			t[c] = byte(c - '0')
		case 'a' <= c && c <= 'f':
			t[c] = byte(c - 'a' + 10)
		default:
			t[c] = 0xff
		}
	}
	return t
}()

// ignored decodes any JSON value into nothing.
type ignored struct{}

func (*ignored) UnmarshalJSONFrom(dec *jsontext.Decoder) error { return dec.SkipValue() }

// idList decodes a JSON array of id strings through an interner. The ids
// are gathered in scratch, which the caller may hand to the next idList,
// and then copied to ids at their exact length. A list of lower-case
// UUIDs, as Icinga's are, comes out sorted: their bytes are sorted where
// they are at hand, then resolved in that order (interner.resolve).
// sorted reports whether that was so.
type idList struct {
	in      *interner
	scratch *idScratch
	ids     []string
	sorted  bool
}

// idScratch is the memory an idList reuses for the next.
type idScratch struct {
	ids  []string
	keys [][16]byte
}

func (l *idList) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	if dec.PeekKind() == 'n' {
		_, err := dec.ReadToken()
		l.ids = nil
		return err
	}
	if err := expectDelim(dec, '['); err != nil {
		return err
	}
	sc := l.scratch
	if sc == nil {
		sc = &idScratch{}
	}
	ids, keys := sc.ids[:0], sc.keys[:0]
	uuids, inOrder := true, true // every id so far is a UUID, in keys; they came in order
	var unq []byte
	for k := dec.PeekKind(); k != ']'; k = dec.PeekKind() {
		if k != '"' {
			if k == 0 { // the input ended or is broken: ReadValue says how
				_, err := dec.ReadValue()
				return err
			}
			return fmt.Errorf("found a JSON %s in a list of ids", k)
		}
		v, err := dec.ReadValue() // valid until the next read
		if err != nil {
			return err
		}
		id := v[1 : len(v)-1]
		if bytes.IndexByte(v, '\\') >= 0 {
			if unq, err = jsontext.AppendUnquote(unq[:0], v); err != nil {
				return err
			}
			id = unq
		}
		if uuids {
			if key, ok := uuidKey(id); ok {
				if n := len(keys); n > 0 && inOrder && compareKeys(keys[n-1], key) > 0 {
					inOrder = false
				}
				keys = append(keys, key)
				continue
			}
			uuids = false // the list keeps the order it came in
			for _, key := range keys {
				ids = append(ids, l.in.byKey(key))
			}
		}
		ids = append(ids, l.in.get(id))
	}
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	if uuids {
		if !inOrder {
			slices.SortFunc(keys, compareKeys)
		}
		ids = l.in.resolve(keys, ids)
	}
	l.sorted = uuids
	l.ids = make([]string, len(ids)) // [] stays [], not null
	copy(l.ids, ids)
	sc.ids, sc.keys = ids, keys
	return nil
}

func (c *Client) put(ctx context.Context, endpoint, kind string, body []byte) (bool, error) {
	var obj struct {
		ID any `json:"id"`
	}
	if err := json.Unmarshal(body, &obj); err != nil {
		return false, fmt.Errorf("icinga: put %s: body is not a JSON object: %w", kind, err)
	}
	id, _ := obj.ID.(string)
	if id == "" {
		return false, fmt.Errorf("icinga: put %s: body has no string \"id\"", kind)
	}
	if id != strings.ToLower(id) {
		return false, fmt.Errorf("icinga: put %s %s: the id must be lowercase (the server compares it with the lowercased URL)", kind, id)
	}
	res, err := c.do(ctx, http.MethodPut, endpoint+"/"+url.PathEscape(id), body)
	if err != nil {
		return false, err
	}
	return res.Status == http.StatusCreated, nil
}

func (c *Client) delete(ctx context.Context, endpoint, kind, id string) error {
	if id == "" {
		return fmt.Errorf("icinga: delete %s: empty id", kind)
	}
	_, err := c.do(ctx, http.MethodDelete, endpoint+"/"+url.PathEscape(strings.ToLower(id)), nil)
	return err
}

// do sends one request through the shared HTTP layer. Every request of
// this API is safe to repeat: reads, PUT upserts and DELETEs. A write's
// 500 is the serialization failure of §8 (the write overlapped another
// and stored nothing): retried under the contention limits and counted
// as contention.
func (c *Client) do(ctx context.Context, method, rel string, body []byte) (*httpapi.Response, error) {
	return c.api.Do(ctx, &httpapi.Request{Method: method, Path: rel, Body: body, Repeatable: true, Retry500: method != http.MethodGet})
}

// doStream is a GET like do whose successful answer body goes to consume
// instead of into memory. A consume error from a broken connection is
// transient and the request is retried; consume starts over.
func (c *Client) doStream(ctx context.Context, method, rel string, consume func(http.Header, io.Reader) error) (*httpapi.Response, error) {
	return c.api.Do(ctx, &httpapi.Request{Method: method, Path: rel, Repeatable: true, Consume: consume})
}

// isCollection reports whether path (relative to the base, perhaps with
// a query) names a list endpoint rather than one object.
func isCollection(path string) bool {
	path, _, _ = strings.Cut(path, "?")
	return !strings.Contains(path, "/")
}

// explain says what an error answer means for this API.
func (c *Client) explain(e *httpapi.Error, h http.Header, body []byte) {
	switch {
	case e.Status >= 300 && e.Status < 400:
		loc := h.Get("Location")
		if strings.Contains(loc, "authentication/login") {
			e.Message = fmt.Sprintf("the server redirected to its login page (%s): it did not honour the header "+
				"\"Accept: application/json\" (a proxy may have changed it) or target.icinga.url is not the API base "+
				"ending in /icingaweb2/notifications/api/v1", loc)
		} else {
			e.Message = fmt.Sprintf("unexpected redirect to %q; check that target.icinga.url is the API base ending in /icingaweb2/notifications/api/v1", loc)
		}
	case e.Status == http.StatusUnauthorized:
		e.Message = fmt.Sprintf("Icinga rejected the credentials for user %s", c.user)
		e.Hint = "check target.icinga.username and password"
	case e.Status == http.StatusForbidden:
		e.Message = fmt.Sprintf("user %s lacks the Icinga Web 2 permission notifications/api (and module/notifications)", c.user)
		if m := httpapi.ServerMessage(body); m != "" {
			e.Message += "; the server said: " + m
		}
	case e.Status == http.StatusNotFound && isCollection(e.Path):
		// The lists (contacts, contact-groups, channels) always exist
		// under the right base URL: a 404 there means the URL is wrong,
		// whether Icinga ("Endpoint Channels not found") or the web
		// server ("Page not found.") answered.
		e.Message = strings.TrimSuffix(httpapi.ServerMessage(body), ".")
		e.Hint = fmt.Sprintf("check target.icinga.url: %s%s does not exist there; the URL must be the API base ending in /icingaweb2/notifications/api/v1", c.base, e.Path)
	default:
		e.Message = httpapi.ServerMessage(body)
	}
}
