package udm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ldapply/ldapply/providers/httpapi"
	"github.com/ldapply/ldapply/providers/netfail"
)

// Object types.
const (
	TypeUser  = "users/user"
	TypeGroup = "groups/group"
)

// ClientConfig configures a [Client].
type ClientConfig struct {
	// URL is the API root, e.g. https://ucs.example.com/univention/udm/.
	URL                string
	Username, Password string
	CACert             string
	CAPEM              []byte
	InsecureSkipVerify bool
	// ConnectTimeout bounds dialling and the TLS handshake; ReadTimeout
	// one request with its answer. 0 means the defaults (6s, 30m).
	ConnectTimeout, ReadTimeout time.Duration
	// Retries of a transient failure (see [IsTransient]); 0 means 4, a
	// negative value none. Requests that are safe to repeat are retried:
	// GET, PUT and DELETE. A create (POST) is retried only when
	// KeyProperties names the key property of its type: before sending
	// it again the client looks for the object by its key, so a create
	// whose answer was lost is not made twice.
	Retries int
	// KeyProperties maps an object type ([TypeUser], [TypeGroup]) to the
	// property that holds the source primary key.
	KeyProperties map[string]string
	UserAgent     string
	// Log receives the lines of requests that wait and of retried
	// network failures; nil discards them.
	Log *slog.Logger
}

// RawObject is a UDM object as the API returns it (HAL+JSON decoded).
type RawObject map[string]any

// DN returns the object's "dn".
func (o RawObject) DN() string { s, _ := o["dn"].(string); return s }

// Properties returns the object's "properties" (nil when absent).
func (o RawObject) Properties() map[string]any { p, _ := o["properties"].(map[string]any); return p }

// Client is a client of the UDM REST API. It is safe for concurrent use.
type Client struct {
	user    string
	keyProp map[string]string
	api     *httpapi.Client
}

// maxAnswer caps an answer read into memory: a search of 100,000 users.
const maxAnswer = 512 << 20

// NewClient checks cfg and returns a client; it does not contact the server.
func NewClient(cfg ClientConfig) (*Client, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("udm: URL %q must be absolute http or https, like https://ucs.example.com/univention/udm/", cfg.URL)
	}
	if cfg.Username == "" {
		return nil, errors.New("udm: username is empty")
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = DefaultReadTimeout
	}
	transport := httpapi.SetConnectTimeout(httpapi.Transport(), cfg.ConnectTimeout)
	if transport.TLSClientConfig, err = httpapi.TLS(cfg.CACert, cfg.CAPEM, cfg.InsecureSkipVerify); err != nil {
		return nil, fmt.Errorf("udm: %w", err)
	}
	attempts := httpapi.DefaultAttempts
	switch {
	case cfg.Retries > 0:
		attempts = cfg.Retries + 1
	case cfg.Retries < 0:
		attempts = 1
	}
	c := &Client{user: cfg.Username, keyProp: cfg.KeyProperties}
	c.api = httpapi.New(httpapi.Config{
		Target:         "udm",
		BaseURL:        strings.TrimRight(u.String(), "/") + "/",
		HTTP:           &http.Client{Transport: transport, CheckRedirect: httpapi.NoRedirect},
		Timeout:        cfg.ReadTimeout,
		ConnectTimeout: cfg.ConnectTimeout,
		Keys:           netfail.Keys{Timeout: "target.udm.read_timeout"},
		Log:            cfg.Log,
		Policy:         httpapi.Policy{Attempts: attempts},
		Username:       cfg.Username,
		Password:       cfg.Password,
		UserAgent:      cfg.UserAgent,
		MaxBody:        maxAnswer,
		Explain:        c.explain,
	})
	return c, nil
}

// ContentionSignals returns how many answers so far meant UCS had too
// much at once (429 or 503).
func (c *Client) ContentionSignals() int64 { return c.api.ContentionSignals() }

// objPath is the path of one object: the DN URL-encoded, "/" included.
func objPath(typ, dn string) string { return typ + "/" + url.PathEscape(dn) }

// Search returns every object of typ at or under position (subtree).
func (c *Client) Search(ctx context.Context, typ, position string) ([]RawObject, error) {
	return c.search(ctx, typ, position, nil)
}

// search is Search narrowed by query[prop]=value for each entry of query
// (UDM reads "*" in a value as a wildcard).
func (c *Client) search(ctx context.Context, typ, position string, query map[string]string) ([]RawObject, error) {
	q := url.Values{"position": {position}, "scope": {"sub"}, "properties": {"*"}}
	for prop, v := range query {
		q.Set("query["+prop+"]", v)
	}
	res, err := c.do(ctx, http.MethodGet, typ+"/?"+q.Encode(), nil, "")
	if err != nil {
		return nil, err
	}
	var body struct {
		Embedded struct {
			Objects []RawObject `json:"udm:object"`
		} `json:"_embedded"`
	}
	if err := json.Unmarshal(res.Body, &body); err != nil {
		return nil, fmt.Errorf("udm: search %s: the answer is not HAL+JSON: %w", typ, err)
	}
	return body.Embedded.Objects, nil
}

// Get reads one object and its ETag.
func (c *Client) Get(ctx context.Context, typ, dn string) (RawObject, string, error) {
	res, err := c.do(ctx, http.MethodGet, objPath(typ, dn), nil, "")
	if err != nil {
		return nil, "", err
	}
	var o RawObject
	if err := json.Unmarshal(res.Body, &o); err != nil {
		return nil, "", fmt.Errorf("udm: GET %s %s: %w", typ, dn, err)
	}
	return o, res.Header.Get("Etag"), nil
}

// Create POSTs body ({position, properties}) and returns the new DN.
// After a transient failure it is sent again only when the type has a
// key property (ClientConfig.KeyProperties) and body sets it: the
// object is first looked for by its key under position, and when it is
// there (the answer was lost) its DN is the result.
func (c *Client) Create(ctx context.Context, typ string, body []byte) (string, error) {
	req := c.request(http.MethodPost, typ+"/", body, "")
	req.Recover = c.findCreated(typ, body)
	res, err := c.api.Do(ctx, req)
	if err != nil {
		return "", err
	}
	var o RawObject
	_ = json.Unmarshal(res.Body, &o)
	return o.DN(), nil
}

// findCreated returns a [httpapi.Request.Recover] for the create of body:
// it searches body's position for an object with body's key and returns
// an answer with its DN when there is one. nil when the type has no key
// property or body sets none: the create is not safe to repeat.
func (c *Client) findCreated(typ string, body []byte) func(context.Context) (*httpapi.Response, error) {
	prop := c.keyProp[typ]
	var b struct {
		Position   string         `json:"position"`
		Properties map[string]any `json:"properties"`
	}
	if prop == "" || json.Unmarshal(body, &b) != nil {
		return nil
	}
	key, _ := b.Properties[prop].(string)
	if key == "" || b.Position == "" {
		return nil
	}
	return func(ctx context.Context) (*httpapi.Response, error) {
		objs, err := c.search(ctx, typ, b.Position, map[string]string{prop: key})
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			if v, _ := o.Properties()[prop].(string); v == key {
				dn, _ := json.Marshal(map[string]string{"dn": o.DN()})
				return &httpapi.Response{Status: http.StatusCreated, Body: dn}, nil
			}
		}
		return nil, nil
	}
}

// Put modifies (or renames) the object at dn under If-Match ifMatch
// (none when empty). It refuses to follow a move: a PUT that UDM
// answers 201 or 202 with a progress Location is reported as an error.
func (c *Client) Put(ctx context.Context, typ, dn string, body []byte, ifMatch string) error {
	res, err := c.do(ctx, http.MethodPut, objPath(typ, dn), body, ifMatch)
	if err != nil {
		return err
	}
	if res.Status != http.StatusNoContent && res.Status != http.StatusOK {
		return fmt.Errorf("udm: PUT %s %s: unexpected HTTP %d (a move?)", typ, dn, res.Status)
	}
	return nil
}

// Delete removes the object at dn; a missing object gives an error for
// which [IsNotFound] is true.
func (c *Client) Delete(ctx context.Context, typ, dn string) error {
	_, err := c.do(ctx, http.MethodDelete, objPath(typ, dn), nil, "")
	return err
}

// request returns the request of method on rel; every method but POST
// is safe to repeat (a PUT under If-Match answers 412 when repeated,
// which Apply understands).
func (c *Client) request(method, rel string, body []byte, ifMatch string) *httpapi.Request {
	shown, _ := url.PathUnescape(strings.SplitN(rel, "?", 2)[0])
	r := &httpapi.Request{Method: method, Path: rel, Show: shown, Body: body, Repeatable: method != http.MethodPost}
	if ifMatch != "" {
		r.Header = http.Header{"If-Match": {ifMatch}}
	}
	return r
}

func (c *Client) do(ctx context.Context, method, rel string, body []byte, ifMatch string) (*httpapi.Response, error) {
	return c.api.Do(ctx, c.request(method, rel, body, ifMatch))
}

// explain says what an error answer means for UDM.
func (c *Client) explain(e *httpapi.Error, h http.Header, data []byte) {
	switch {
	case e.Status >= 300 && e.Status < 400:
		e.Message = fmt.Sprintf("unexpected redirect to %q; check that target.udm.url is the API root ending in /univention/udm/", h.Get("Location"))
	case e.Status == http.StatusUnauthorized:
		e.Message = fmt.Sprintf("UDM rejected the credentials of %s", c.user)
		e.Hint = "check target.udm.username and password"
	case e.Status == http.StatusForbidden:
		e.Message = fmt.Sprintf("%s is not in a group allowed to use the UDM REST API (UCR directory/manager/rest/authorized-groups/*)", c.user)
	case e.Status == http.StatusNotAcceptable:
		e.Message = "the server does not serve JSON for this request (406); check target.udm.url"
	default:
		e.Message, e.Fields = errorBody(data)
	}
}

// errorBody reads the §5 error shape: error.message (its first line) and
// the per-property messages of _embedded.udm:error.
func errorBody(data []byte) (string, map[string]string) {
	var b struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
		Embedded struct {
			Errors []struct {
				Location []string `json:"location"`
				Message  string   `json:"message"`
			} `json:"udm:error"`
		} `json:"_embedded"`
	}
	if json.Unmarshal(data, &b) != nil {
		s := strings.TrimSpace(string(data))
		if len(s) > 200 {
			s = s[:200] + "…"
		}
		return s, nil
	}
	var props map[string]string
	for _, e := range b.Embedded.Errors {
		if len(e.Location) == 0 {
			continue
		}
		if props == nil {
			props = map[string]string{}
		}
		props[e.Location[len(e.Location)-1]] = e.Message
	}
	msg, _, _ := strings.Cut(b.Error.Message, "\n")
	return msg, props
}
