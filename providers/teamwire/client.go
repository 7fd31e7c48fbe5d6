package teamwire

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
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/ldapply/ldapply/providers/endpoint"
)

// ClientConfig configures a [Client].
type ClientConfig struct {
	// URL is the Enterprise API base; APIVersion goes into every path
	// (URL/v<APIVersion>/admin/…).
	URL, APIVersion string
	// Email and Password log in; TOTPSecret (base32), when set, adds a
	// TOTP code to every login.
	Email, Password, TOTPSecret string
	// CACert is a PEM file to trust instead of the system roots; CAPEM is
	// the same as bytes. Set at most one.
	CACert string
	CAPEM  []byte
	// Timeout bounds each request; 0 means 30s.
	Timeout time.Duration
	// Retries is how often a transient failure of an idempotent request
	// is retried; 0 means 3, negative none.
	Retries int
	// UserAgent is sent as User-Agent; empty means "ldapply".
	UserAgent string
	// Now returns the time TOTP codes are made for; nil means time.Now.
	Now func() time.Time
}

// Client speaks the LDAP-related part of the Teamwire Enterprise API. It
// logs in on first use, keeps every cookie the login sets, and logs in
// again once when a request is answered 401 (the session expired). A
// Client is safe for concurrent use.
type Client struct {
	base     string // …/v<N>/admin/
	email    string
	password string
	totp     []byte
	agent    string
	timeout  time.Duration
	retries  int
	now      func() time.Time
	http     *http.Client

	mu       sync.Mutex
	loggedIn bool
	logins   int

	baseDelay time.Duration
}

// NewClient checks cfg and returns a client; it does not contact the
// server.
func NewClient(cfg ClientConfig) (*Client, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("teamwire: URL %q must be absolute http or https", cfg.URL)
	}
	if cfg.Email == "" {
		return nil, errors.New("teamwire: email is empty")
	}
	if cfg.APIVersion == "" {
		cfg.APIVersion = DefaultAPIVersion
	}
	c := &Client{
		base:      strings.TrimRight(u.String(), "/") + "/v" + url.PathEscape(cfg.APIVersion) + "/admin/",
		email:     cfg.Email,
		password:  cfg.Password,
		agent:     cfg.UserAgent,
		timeout:   cfg.Timeout,
		retries:   cfg.Retries,
		now:       cfg.Now,
		baseDelay: 300 * time.Millisecond,
	}
	if cfg.TOTPSecret != "" {
		if c.totp, err = decodeSecret(cfg.TOTPSecret); err != nil {
			return nil, fmt.Errorf("teamwire: TOTP secret: %w", err)
		}
	}
	if c.agent == "" {
		c.agent = "ldapply"
	}
	if c.timeout <= 0 {
		c.timeout = 30 * time.Second
	}
	switch {
	case c.retries == 0:
		c.retries = 3
	case c.retries < 0:
		c.retries = 0
	}
	if c.now == nil {
		c.now = time.Now
	}
	transport := endpoint.Transport()
	if cfg.CACert != "" || len(cfg.CAPEM) > 0 {
		if cfg.CACert != "" && len(cfg.CAPEM) > 0 {
			return nil, errors.New("teamwire: set only one of the CA certificate file and PEM")
		}
		pem, name := cfg.CAPEM, "the CA PEM"
		if cfg.CACert != "" {
			name = cfg.CACert
			if pem, err = os.ReadFile(cfg.CACert); err != nil {
				return nil, fmt.Errorf("teamwire: read CA certificate: %w", err)
			}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("teamwire: no PEM certificate found in %s", name)
		}
		transport.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	jar, _ := cookiejar.New(nil)
	c.http = &http.Client{
		Transport: transport,
		Jar:       jar,
		// A redirect is never followed: it would be a login page.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return c, nil
}

// Logins returns how many logins succeeded (tests check the re-login).
func (c *Client) Logins() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.logins
}

// orgPath returns "<endpoint>/" or "<endpoint>/<org>/".
func orgPath(endpoint, org string) string {
	if org == "" || org == OwnOrg {
		return endpoint + "/"
	}
	return endpoint + "/" + url.PathEscape(org) + "/"
}

// op describes a request for error messages.
type op struct {
	what string // "read the LDAP settings"
	perm string // the admin permission the endpoint needs
	org  string
}

func (o op) orgName() string { return OrgName(o.org) }

// OrgName names an organisation key for people.
func OrgName(org string) string {
	if org == "" || org == OwnOrg {
		return "the admin's own organisation"
	}
	return "organisation " + org
}

// GetSettings returns an organisation's LDAP settings.
func (c *Client) GetSettings(ctx context.Context, org string) (Settings, error) {
	o := op{"read the LDAP settings of", "allow_view_settings", org}
	body, err := c.do(ctx, http.MethodGet, orgPath("ldapsettings", org), nil, true, o)
	if err != nil {
		return nil, err
	}
	var s Settings
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&s); err != nil || s == nil {
		return nil, fmt.Errorf("teamwire: GET %s: the answer is not a JSON object of settings", orgPath("ldapsettings", org))
	}
	return s, nil
}

// SetSettings POSTs body, a JSON object of settings. Setting the same
// values twice is harmless, so it is retried like a read.
func (c *Client) SetSettings(ctx context.Context, org string, body []byte) error {
	o := op{"set the LDAP settings of", "allow_modify_settings", org}
	_, err := c.do(ctx, http.MethodPost, orgPath("ldapsettings", org), body, true, o)
	return err
}

// GetStatus returns the sync status; the log leaves out its first skip
// entries (sync_log_skip_entries).
func (c *Client) GetStatus(ctx context.Context, org string, skip int) (*Status, error) {
	o := op{"read the LDAP sync status of", "allow_manage_ldap_sync", org}
	rel := orgPath("ldapsync", org) + fmt.Sprintf("?sync_log_skip_entries=%d", skip)
	body, err := c.do(ctx, http.MethodGet, rel, nil, true, o)
	if err != nil {
		return nil, err
	}
	var st Status
	if err := json.Unmarshal(body, &st); err != nil {
		return nil, fmt.Errorf("teamwire: GET %s: the answer is not a sync status: %w", rel, err)
	}
	return &st, nil
}

// StartRun starts a sync run (PUT). It is not retried: a lost answer
// could otherwise start a second run.
func (c *Client) StartRun(ctx context.Context, org string) error {
	o := op{"start an LDAP sync run of", "allow_manage_ldap_sync", org}
	_, err := c.do(ctx, http.MethodPut, orgPath("ldapsync", org), nil, false, o)
	return err
}

// AbortRun aborts the active sync run (DELETE). When no run is active the
// error is a 409 for which [IsConflict] is true.
func (c *Client) AbortRun(ctx context.Context, org string) error {
	o := op{"abort the LDAP sync run of", "allow_manage_ldap_sync", org}
	_, err := c.do(ctx, http.MethodDelete, orgPath("ldapsync", org), nil, true, o)
	return err
}

// Login logs in and keeps the session cookies.
func (c *Client) Login(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.loginLocked(ctx)
}

func (c *Client) loginLocked(ctx context.Context) error {
	req := map[string]string{"email": c.email, "password": c.password}
	if c.totp != nil {
		req["token"] = TOTP(c.totp, c.now())
	}
	b, _ := json.Marshal(req)
	status, body, err := c.once(ctx, http.MethodPost, "login/", b)
	if err != nil {
		return err
	}
	switch {
	case status >= 200 && status < 300:
		c.loggedIn = true
		c.logins++
		return nil
	case status == http.StatusUnauthorized:
		msg := fmt.Sprintf("login as %s failed: wrong email or password", c.email)
		if c.totp == nil {
			msg += ", or the account has two-factor authentication and target.teamwire.totp_secret is not set"
		} else {
			msg += ", or the TOTP code was rejected (check totp_secret and this machine's clock)"
		}
		return &APIError{Method: http.MethodPost, Path: "login/", Status: status, Message: withServer(msg, body)}
	case status == http.StatusForbidden:
		return &APIError{Method: http.MethodPost, Path: "login/", Status: status, Message: withServer(fmt.Sprintf("login as %s refused: the admin account is disabled or its email or phone is not confirmed", c.email), body)}
	}
	return &APIError{Method: http.MethodPost, Path: "login/", Status: status, Message: withServer("login failed", body)}
}

// do sends a request with the session, logging in first when needed and
// once more on 401. Transient failures of idempotent requests are
// retried with backoff.
func (c *Client) do(ctx context.Context, method, rel string, body []byte, idempotent bool, o op) ([]byte, error) {
	c.mu.Lock()
	if !c.loggedIn {
		if err := c.loginLocked(ctx); err != nil {
			c.mu.Unlock()
			return nil, err
		}
	}
	c.mu.Unlock()
	relogged := false
	for attempt := 0; ; attempt++ {
		status, data, err := c.once(ctx, method, rel, body)
		if err == nil && status == http.StatusUnauthorized && !relogged {
			relogged = true
			c.mu.Lock()
			err = c.loginLocked(ctx)
			c.mu.Unlock()
			if err != nil {
				return nil, fmt.Errorf("teamwire: the session expired and logging in again failed: %w", err)
			}
			attempt--
			continue
		}
		if err == nil && status >= 200 && status < 300 {
			return data, nil
		}
		if err == nil {
			err = c.explain(method, rel, status, data, o, relogged)
		}
		if !idempotent || !IsTransient(err) || attempt >= c.retries || ctx.Err() != nil {
			return nil, err
		}
		d := c.baseDelay << attempt
		d = d/2 + rand.N(d/2+1)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, err
		case <-t.C:
		}
	}
}

// explain turns an error status into an APIError saying what it means for
// this endpoint (the seed's result tables).
func (c *Client) explain(method, rel string, status int, body []byte, o op, relogged bool) error {
	e := &APIError{Method: method, Path: rel, Status: status}
	org := o.orgName()
	switch status {
	case http.StatusBadRequest:
		e.Message = fmt.Sprintf("Teamwire rejected the request to %s %s as invalid", o.what, org)
		e.Message = withServer(e.Message, body)
	case http.StatusUnauthorized:
		e.Message = fmt.Sprintf("not logged in: the session was rejected even right after logging in again as %s", c.email)
		if !relogged {
			e.Message = "not logged in"
		}
	case http.StatusForbidden:
		if o.org == "" || o.org == OwnOrg {
			e.Message = fmt.Sprintf("%s may not %s %s: the admin's organisation is disabled, or the admin lacks the permission %s", c.email, o.what, org, o.perm)
		} else {
			e.Message = fmt.Sprintf("%s may not %s %s: the admin's own organisation is disabled, or %s is not a Superadmin (only Superadmins may name organisations; leave target.teamwire.organisations empty to manage your own), or the admin lacks the permission %s", c.email, o.what, org, c.email, o.perm)
		}
		e.Message = withServer(e.Message, body)
	case http.StatusNotFound:
		e.Message = withServer(fmt.Sprintf("%s does not exist; check target.teamwire.organisations", org), body)
	case http.StatusConflict:
		if method == http.MethodDelete {
			e.Message = withServer(fmt.Sprintf("no sync run is active for %s, or the organisation is disabled", org), body)
		} else {
			e.Message = withServer(fmt.Sprintf("%s is disabled", org), body)
		}
	case http.StatusFound, http.StatusMovedPermanently, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		e.Message = "unexpected redirect; check that target.teamwire.url is the Enterprise API base (paths continue with /v<api_version>/admin/)"
	default:
		e.Message = withServer(http.StatusText(status), body)
	}
	return e
}

// withServer appends the server's message, if the body has one.
func withServer(msg string, body []byte) string {
	if m := serverMessage(body); m != "" {
		return msg + "; the server said: " + m
	}
	return msg
}

// serverMessage extracts a message from an error body. The shape is not
// documented: {"message"}, {"error"}, {"detail"}, or a map of field
// errors are understood; any other body is quoted briefly.
func serverMessage(body []byte) string {
	var m map[string]any
	if json.Unmarshal(body, &m) == nil {
		for _, k := range []string{"message", "error", "detail", "msg"} {
			if s, ok := m[k].(string); ok && s != "" {
				return s
			}
		}
		if len(m) > 0 {
			b, _ := json.Marshal(m)
			return truncate(string(b))
		}
		return ""
	}
	return truncate(strings.TrimSpace(string(body)))
}

func truncate(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

// once performs one exchange and returns the status and body.
func (c *Client) once(ctx context.Context, method, rel string, body []byte) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+rel, rd)
	if err != nil {
		return 0, nil, fmt.Errorf("teamwire: %s %s: %w", method, rel, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.agent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("teamwire: %s %s: %w", method, strings.SplitN(rel, "?", 2)[0], err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return 0, nil, fmt.Errorf("teamwire: %s %s: read answer: %w", method, rel, err)
	}
	return resp.StatusCode, data, nil
}
