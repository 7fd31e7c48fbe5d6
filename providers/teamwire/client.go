package teamwire

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ldapply/ldapply/providers/httpapi"
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
	// Timeout bounds each silence of a request once connected (see
	// httpapi.Config.Timeout); 0 means 30s. ConnectTimeout bounds the TCP
	// connection and the TLS handshake, each; 0 means 10s.
	Timeout, ConnectTimeout time.Duration
	// Log receives the lines of requests that wait and of retried
	// network failures; nil discards them.
	Log *slog.Logger
	// Retries is how often a transient failure of an idempotent request
	// or of a login is retried; 0 means 4, negative none.
	Retries int
	// UserAgent is sent as User-Agent; empty means "ldapply".
	UserAgent string
	// Now returns the time TOTP codes are made for; nil means time.Now.
	Now func() time.Time
}

// Client speaks the LDAP-related part of the Teamwire Enterprise API. It
// logs in on first use, keeps every cookie the login sets, and logs in
// again once when a request is answered 401 (the session expired).
// Requests, logins included, go through package httpapi's retry policy.
// A Client is safe for concurrent use.
type Client struct {
	email    string
	password string
	totp     []byte
	now      func() time.Time
	api      *httpapi.Client

	mu       sync.Mutex
	loggedIn bool
	logins   int
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
	c := &Client{email: cfg.Email, password: cfg.Password, now: cfg.Now}
	if cfg.TOTPSecret != "" {
		if c.totp, err = decodeSecret(cfg.TOTPSecret); err != nil {
			return nil, fmt.Errorf("teamwire: TOTP secret: %w", err)
		}
	}
	if c.now == nil {
		c.now = time.Now
	}
	attempts := httpapi.DefaultAttempts
	switch {
	case cfg.Retries > 0:
		attempts = cfg.Retries + 1
	case cfg.Retries < 0:
		attempts = 1
	}
	connect := cmp.Or(max(cfg.ConnectTimeout, 0), httpapi.DefaultConnectTimeout)
	transport := httpapi.SetConnectTimeout(httpapi.Transport(), connect)
	if transport.TLSClientConfig, err = httpapi.TLS(cfg.CACert, cfg.CAPEM, false); err != nil {
		return nil, fmt.Errorf("teamwire: %w", err)
	}
	jar, _ := cookiejar.New(nil)
	c.api = httpapi.New(httpapi.Config{
		Target:  "teamwire",
		BaseURL: strings.TrimRight(u.String(), "/") + "/v" + url.PathEscape(cfg.APIVersion) + "/admin/",
		// A redirect is never followed: it would be a login page.
		HTTP:           &http.Client{Transport: transport, Jar: jar, CheckRedirect: httpapi.NoRedirect},
		Timeout:        cfg.Timeout,
		ConnectTimeout: connect,
		Log:            cfg.Log,
		Policy:         httpapi.Policy{Attempts: attempts},
		UserAgent:      cfg.UserAgent,
		MaxBody:        64 << 20,
	})
	return c, nil
}

// ContentionSignals returns how many answers so far meant Teamwire had
// too much at once (429 or 503).
func (c *Client) ContentionSignals() int64 { return c.api.ContentionSignals() }

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

// loginLocked logs in; logging in twice is harmless, so a transient
// failure is retried, with a fresh TOTP code on each attempt.
func (c *Client) loginLocked(ctx context.Context) error {
	_, err := c.api.Do(ctx, &httpapi.Request{Method: http.MethodPost, Path: "login/", NewBody: c.loginBody, Repeatable: true, Explain: c.explainLogin})
	if err != nil {
		return err
	}
	c.loggedIn = true
	c.logins++
	return nil
}

func (c *Client) loginBody() []byte {
	req := map[string]string{"email": c.email, "password": c.password}
	if c.totp != nil {
		req["token"] = TOTP(c.totp, c.now())
	}
	b, _ := json.Marshal(req)
	return b
}

// explainLogin says what an error answer to the login means.
func (c *Client) explainLogin(e *httpapi.Error, _ http.Header, body []byte) {
	switch e.Status {
	case http.StatusUnauthorized:
		msg := fmt.Sprintf("login as %s failed: wrong email or password", c.email)
		if c.totp == nil {
			msg += ", or the account has two-factor authentication and target.teamwire.totp_secret is not set"
		} else {
			msg += ", or the TOTP code was rejected (check totp_secret and this machine's clock)"
		}
		e.Message = withServer(msg, body)
	case http.StatusForbidden:
		e.Message = withServer(fmt.Sprintf("login as %s refused: the admin account is disabled or its email or phone is not confirmed", c.email), body)
	default:
		e.Message = withServer("login failed", body)
	}
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
	req := &httpapi.Request{Method: method, Path: rel, Body: body, Repeatable: idempotent,
		Explain: func(e *httpapi.Error, _ http.Header, data []byte) { c.explain(e, data, o, relogged) }}
	res, err := c.api.Do(ctx, req)
	if httpapi.StatusOf(err) == http.StatusUnauthorized {
		// The session expired: the request was not served, so it is sent
		// again after one new login.
		relogged = true
		c.mu.Lock()
		lerr := c.loginLocked(ctx)
		c.mu.Unlock()
		if lerr != nil {
			return nil, fmt.Errorf("teamwire: the session expired and logging in again failed: %w", lerr)
		}
		res, err = c.api.Do(ctx, req)
	}
	if err != nil {
		return nil, err
	}
	return res.Body, nil
}

// explain says what an error answer means for this endpoint (the seed's
// result tables).
func (c *Client) explain(e *httpapi.Error, body []byte, o op, relogged bool) {
	org, method := o.orgName(), e.Method
	switch e.Status {
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
		e.Message = withServer(http.StatusText(e.Status), body)
	}
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
