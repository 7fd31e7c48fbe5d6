package udm

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ldapply/ldapply/providers/endpoint"
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
	// Retries of a transient failure (see [IsTransient]); 0 means 3, a
	// negative value none. Only idempotent requests are retried: GET,
	// PUT and DELETE; never POST.
	Retries   int
	UserAgent string
}

// RawObject is a UDM object as the API returns it (HAL+JSON decoded).
type RawObject map[string]any

// DN returns the object's "dn".
func (o RawObject) DN() string { s, _ := o["dn"].(string); return s }

// Properties returns the object's "properties" (nil when absent).
func (o RawObject) Properties() map[string]any { p, _ := o["properties"].(map[string]any); return p }

// Client is a client of the UDM REST API. It is safe for concurrent use.
type Client struct {
	base    string // with trailing slash
	user    string
	pass    string
	agent   string
	retries int
	http    *http.Client
	sleep   func(ctx context.Context, d time.Duration) error
}

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
	transport := endpoint.Transport()
	transport.DialContext = (&net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: 30 * time.Second}).DialContext
	transport.TLSHandshakeTimeout = cfg.ConnectTimeout
	if cfg.CACert != "" || len(cfg.CAPEM) > 0 {
		pem := cfg.CAPEM
		if cfg.CACert != "" {
			if pem, err = os.ReadFile(cfg.CACert); err != nil {
				return nil, fmt.Errorf("udm: read CA certificate: %w", err)
			}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("udm: no PEM certificate found in the CA bundle")
		}
		transport.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	if cfg.InsecureSkipVerify {
		if transport.TLSClientConfig == nil {
			transport.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		transport.TLSClientConfig.InsecureSkipVerify = true
	}
	c := &Client{
		base: strings.TrimRight(u.String(), "/") + "/", user: cfg.Username, pass: cfg.Password, agent: cfg.UserAgent,
		retries: cfg.Retries,
		http: &http.Client{Transport: transport, Timeout: cfg.ReadTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		sleep: sleepCtx,
	}
	if c.agent == "" {
		c.agent = "ldapply"
	}
	switch {
	case c.retries == 0:
		c.retries = 3
	case c.retries < 0:
		c.retries = 0
	}
	return c, nil
}

// objPath is the path of one object: the DN URL-encoded, "/" included.
func objPath(typ, dn string) string { return typ + "/" + url.PathEscape(dn) }

// Search returns every object of typ at or under position (subtree).
func (c *Client) Search(ctx context.Context, typ, position string) ([]RawObject, error) {
	q := url.Values{"position": {position}, "scope": {"sub"}, "properties": {"*"}}
	res, err := c.do(ctx, http.MethodGet, typ+"/?"+q.Encode(), nil, "")
	if err != nil {
		return nil, err
	}
	var body struct {
		Embedded struct {
			Objects []RawObject `json:"udm:object"`
		} `json:"_embedded"`
	}
	if err := json.Unmarshal(res.body, &body); err != nil {
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
	if err := json.Unmarshal(res.body, &o); err != nil {
		return nil, "", fmt.Errorf("udm: GET %s %s: %w", typ, dn, err)
	}
	return o, res.header.Get("Etag"), nil
}

// Create POSTs body ({position, properties}) and returns the new DN.
func (c *Client) Create(ctx context.Context, typ string, body []byte) (string, error) {
	res, err := c.do(ctx, http.MethodPost, typ+"/", body, "")
	if err != nil {
		return "", err
	}
	var o RawObject
	_ = json.Unmarshal(res.body, &o)
	return o.DN(), nil
}

// Put modifies (or renames) the object at dn under If-Match ifMatch
// (none when empty). It refuses to follow a move: a PUT that UDM
// answers 201 or 202 with a progress Location is reported as an error.
func (c *Client) Put(ctx context.Context, typ, dn string, body []byte, ifMatch string) error {
	res, err := c.do(ctx, http.MethodPut, objPath(typ, dn), body, ifMatch)
	if err != nil {
		return err
	}
	if res.status != http.StatusNoContent && res.status != http.StatusOK {
		return fmt.Errorf("udm: PUT %s %s: unexpected HTTP %d (a move?)", typ, dn, res.status)
	}
	return nil
}

// Delete removes the object at dn; a missing object gives an error for
// which [IsNotFound] is true.
func (c *Client) Delete(ctx context.Context, typ, dn string) error {
	_, err := c.do(ctx, http.MethodDelete, objPath(typ, dn), nil, "")
	return err
}

type result struct {
	status int
	header http.Header
	body   []byte
}

func (c *Client) do(ctx context.Context, method, rel string, body []byte, ifMatch string) (*result, error) {
	for attempt := 0; ; attempt++ {
		res, retryAfter, err := c.once(ctx, method, rel, body, ifMatch)
		if err == nil {
			return res, nil
		}
		if method == http.MethodPost || !IsTransient(err) || attempt >= c.retries || ctx.Err() != nil {
			return nil, err
		}
		if retryAfter < 0 {
			d := 200 * time.Millisecond << attempt
			retryAfter = d/2 + rand.N(d/2+1)
		}
		if serr := c.sleep(ctx, retryAfter); serr != nil {
			return nil, err
		}
	}
}

func (c *Client) once(ctx context.Context, method, rel string, body []byte, ifMatch string) (*result, time.Duration, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	shown, _ := url.PathUnescape(strings.SplitN(rel, "?", 2)[0])
	req, err := http.NewRequestWithContext(ctx, method, c.base+rel, rd)
	if err != nil {
		return nil, -1, fmt.Errorf("udm: %s %s: %w", method, shown, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.agent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if ifMatch != "" {
		req.Header.Set("If-Match", ifMatch)
	}
	req.SetBasicAuth(c.user, c.pass)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, -1, fmt.Errorf("udm: %s %s: %w", method, shown, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 512<<20))
	if err != nil {
		return nil, -1, fmt.Errorf("udm: %s %s: read answer: %w", method, shown, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return &result{status: resp.StatusCode, header: resp.Header, body: data}, -1, nil
	}
	ae := &APIError{Method: method, Path: shown, Status: resp.StatusCode}
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		ae.Message = fmt.Sprintf("unexpected redirect to %q; check that target.udm.url is the API root ending in /univention/udm/", resp.Header.Get("Location"))
	case resp.StatusCode == http.StatusUnauthorized:
		ae.Message = fmt.Sprintf("UDM rejected the credentials of %s; check target.udm.username and password", c.user)
	case resp.StatusCode == http.StatusForbidden:
		ae.Message = fmt.Sprintf("%s is not in a group allowed to use the UDM REST API (UCR directory/manager/rest/authorized-groups/*)", c.user)
	case resp.StatusCode == http.StatusNotAcceptable:
		ae.Message = "the server does not serve JSON for this request (406); check target.udm.url"
	default:
		ae.Message, ae.Properties = errorBody(data)
		if ae.Message == "" {
			ae.Message = http.StatusText(resp.StatusCode)
		}
	}
	retryAfter := time.Duration(-1)
	if resp.StatusCode == http.StatusServiceUnavailable {
		if n, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
			retryAfter = min(time.Duration(n)*time.Second, 60*time.Second)
		}
	}
	return nil, retryAfter, ae
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

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
