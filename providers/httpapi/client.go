package httpapi

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ldapply/ldapply/providers/netfail"
)

// Config configures a [Client].
type Config struct {
	// Target names the API in error messages ("icinga").
	Target string
	// BaseURL is prefixed to every [Request.Path]; it ends where the
	// paths begin (with a slash or not, as the target's paths need).
	BaseURL string
	// HTTP sends the requests. nil means a client with [Transport] that
	// follows no redirect. A client given here should not follow
	// redirects either: for these APIs a redirect is a login page.
	HTTP *http.Client
	// Timeout bounds how long an attempt waits for the server once it
	// has a connection: for the answer to begin, and then for each
	// further part of its body. It does not bound a long body that keeps
	// arriving (a list of 100,000 contacts streams for minutes on a real
	// server). 0 means [DefaultTimeout].
	Timeout time.Duration
	// ConnectTimeout is the bound of the TCP connection and of the TLS
	// handshake, each. It takes effect through the transport (see
	// [SetConnectTimeout]); here it names the bound in messages. 0 means
	// [DefaultConnectTimeout].
	ConnectTimeout time.Duration
	// Keys name the settings the messages of network failures point at;
	// empty fields take those of netfail.KeysOf("target."+Target).
	Keys netfail.Keys
	// Log, when set, receives a line while a request waits, after half
	// of WaitEvery and then every WaitEvery ("Still waiting for
	// https://… (connecting, 5 s so far)."), and a warning when a
	// network failure is retried.
	Log *slog.Logger
	// WaitEvery is how often a waiting request is reported; 0 means
	// netfail.DefaultEvery.
	WaitEvery time.Duration
	// Policy is the retry policy; its zero fields take the defaults.
	Policy Policy
	// Username and Password, when Username is set, go with every
	// request as HTTP Basic auth.
	Username, Password string
	// UserAgent is sent as User-Agent; empty means "ldapply".
	UserAgent string
	// MaxBody caps how much of an answer is read into memory; 0 means
	// 256 MiB. A streamed answer ([Request.Consume]) is not capped.
	MaxBody int64
	// Explain, when set, fills in Message and Hint (and may change Kind)
	// of an error answer; body is the answer's body. Without it Message
	// is the body's "message" or a short excerpt of it. A request's own
	// Explain takes its place.
	Explain func(e *Error, header http.Header, body []byte)
	// Sleep waits between attempts; nil means a timer that ends early
	// with ctx. Tests replace it to record the waits.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock Retry-After dates are read against; nil means
	// time.Now.
	Now func() time.Time
}

// Defaults of [Config].
const (
	DefaultTimeout        = 30 * time.Second
	DefaultConnectTimeout = 10 * time.Second
	defaultMaxBody        = 256 << 20
)

// Client sends requests to one API under one retry policy and counts
// the answers that mean the server has too much at once. It is safe for
// concurrent use.
type Client struct {
	cfg        Config
	origin     string // scheme://host of BaseURL, as messages name it
	contention atomic.Int64
	lastWait   atomic.Int64 // when waiting last logged, in Unix ns
}

// New returns a client for cfg; it does not contact the server.
func New(cfg Config) *Client {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{Transport: SetConnectTimeout(Transport(), cfg.ConnectTimeout), CheckRedirect: NoRedirect}
	}
	def := netfail.KeysOf("target." + cfg.Target)
	cfg.Keys.URL = cmp.Or(cfg.Keys.URL, def.URL)
	cfg.Keys.CACert = cmp.Or(cfg.Keys.CACert, def.CACert)
	cfg.Keys.ConnectTimeout = cmp.Or(cfg.Keys.ConnectTimeout, def.ConnectTimeout)
	cfg.Keys.Timeout = cmp.Or(cfg.Keys.Timeout, def.Timeout)
	if cfg.WaitEvery <= 0 {
		cfg.WaitEvery = netfail.DefaultEvery
	}
	cfg.Policy = cfg.Policy.withDefaults()
	if cfg.UserAgent == "" {
		cfg.UserAgent = "ldapply"
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = defaultMaxBody
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleepCtx
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	origin := cfg.BaseURL
	if u, err := url.Parse(cfg.BaseURL); err == nil && u.Host != "" {
		origin = u.Scheme + "://" + u.Host
	}
	return &Client{cfg: cfg, origin: origin}
}

// NoRedirect is an http.Client CheckRedirect that follows nothing: the
// redirect comes back as the answer.
func NoRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// Policy returns the client's retry policy with its defaults filled in.
func (c *Client) Policy() Policy { return c.cfg.Policy }

// Timeout returns the bound of each attempt.
func (c *Client) Timeout() time.Duration { return c.cfg.Timeout }

// ContentionSignals returns how many answers so far meant the server
// had too much at once: 429, 503, and 500 where the request marked it as
// a serialization failure ([Request.Retry500]). It only grows.
func (c *Client) ContentionSignals() int64 { return c.contention.Load() }

// Request is one API call.
type Request struct {
	Method string
	// Path is appended to the base URL; it is escaped and may carry a
	// query. Show is the path error messages name; empty means Path.
	Path, Show string
	// Body is sent as application/json when not nil. NewBody, when set,
	// takes its place and makes the body of each attempt anew (a login
	// with a one-time code).
	Body    []byte
	NewBody func() []byte
	// Header holds extra headers, such as If-Match.
	Header http.Header
	// Repeatable says sending the request twice does no harm (a GET, a
	// PUT that replaces, a DELETE): a transient failure is retried.
	Repeatable bool
	// Retry500 says an answer 500 is a transient failure for this
	// request (a write that overlapped another and stored nothing). It
	// is retried under the policy's contention limits and counted as a
	// contention signal.
	Retry500 bool
	// Recover makes a request that is not Repeatable safe to send again
	// after a transient failure: it looks for the effect of the attempts
	// so far (the created object, found by its key). It returns the
	// answer to report when the request took effect, nil when it did
	// not and the request is sent again, or an error, which ends the
	// request with the transient failure.
	Recover func(ctx context.Context) (*Response, error)
	// Consume, when set, reads a successful answer's body as it arrives
	// instead of into memory. A failure while reading from a broken
	// connection is transient: the request is sent again and Consume
	// starts over. Consume must read r to its end or fail.
	Consume func(h http.Header, r io.Reader) error
	// Explain replaces [Config.Explain] for this request.
	Explain func(e *Error, header http.Header, body []byte)
}

// Response is a successful (2xx) answer.
type Response struct {
	Status int
	Header http.Header
	// Body is the answer's body; nil when Consume read it.
	Body []byte
}

// Do sends r and retries it under the client's policy. Its error is, or
// wraps, an *Error whose Attempts says how often r was sent. The
// caller's cancellation ends it at once and is never retried: the error
// then wraps the context's error too.
func (c *Client) Do(ctx context.Context, r *Request) (*Response, error) {
	p := c.cfg.Policy
	for attempt := 1; ; attempt++ {
		res, wait, e := c.once(ctx, r)
		if e == nil {
			return res, nil
		}
		e.Attempts = attempt
		if e.Kind != Transient || ctx.Err() != nil || attempt >= p.attempts(e) || !r.Repeatable && r.Recover == nil {
			return nil, e
		}
		if wait < 0 {
			wait = p.Backoff(attempt, e.serialization)
		}
		if ne := netfail.As(e); ne != nil && c.cfg.Log != nil {
			c.cfg.Log.Warn(fmt.Sprintf("%s: %s %s: %s; trying again.", c.cfg.Target, r.Method, e.Path, ne.Sentence()),
				"attempt", attempt, "of", p.attempts(e), "delay", wait.Round(time.Millisecond), "err", ne.Cause())
		}
		if err := c.cfg.Sleep(ctx, wait); err != nil {
			e.Kind = Other // the caller gave up: not to be retried
			return nil, fmt.Errorf("%w (while waiting to retry: %w)", e, err)
		}
		if !r.Repeatable {
			found, err := r.Recover(ctx)
			if err != nil {
				return nil, fmt.Errorf("%w (and looking for its effect before sending it again failed: %w)", e, err)
			}
			if found != nil {
				return found, nil
			}
		}
	}
}

// once performs one exchange. wait is the server's Retry-After, capped,
// or -1 when it sent none.
func (c *Client) once(ctx context.Context, r *Request) (res *Response, wait time.Duration, e *Error) {
	wait = -1
	show := cmp.Or(r.Show, r.Path)
	a := c.startAttempt(ctx, r.Method, show)
	defer a.end()
	fail := func(msg string, err error) *Error { return c.failure(ctx, a, r.Method, show, msg, err) }
	req, err := c.newRequest(a.ctx, r)
	if err != nil {
		return nil, wait, fail("", err)
	}
	resp, err := c.cfg.HTTP.Do(req)
	if err != nil {
		return nil, wait, fail("", err)
	}
	defer resp.Body.Close()
	resp.Body = a.body(resp.Body)
	ok := resp.StatusCode >= 200 && resp.StatusCode < 300
	if ok && r.Consume != nil {
		if err := r.Consume(resp.Header, resp.Body); err != nil {
			return nil, wait, fail("read answer", err)
		}
		return &Response{Status: resp.StatusCode, Header: resp.Header}, wait, nil
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, c.cfg.MaxBody))
	if err != nil {
		return nil, wait, fail("read answer", err)
	}
	if ok {
		return &Response{Status: resp.StatusCode, Header: resp.Header, Body: data}, wait, nil
	}
	e = c.answerError(r, show, resp, data)
	if e.Kind == Transient {
		wait = RetryAfter(resp.Header.Get("Retry-After"), c.cfg.Now(), c.cfg.Policy.MaxRetryAfter)
	}
	return nil, wait, e
}

// newRequest builds the HTTP request of one attempt of r.
func (c *Client) newRequest(ctx context.Context, r *Request) (*http.Request, error) {
	data := r.Body
	if r.NewBody != nil {
		data = r.NewBody()
	}
	var body io.Reader
	if data != nil {
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, c.cfg.BaseURL+r.Path, body)
	if err != nil {
		return nil, err
	}
	for k, v := range r.Header {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.cfg.UserAgent)
	if data != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.cfg.Username != "" {
		req.SetBasicAuth(c.cfg.Username, c.cfg.Password)
	}
	return req, nil
}

// failure is the *Error of an attempt that got no (whole) answer: a
// network failure as netfail classifies it at the attempt's stage, or
// err as it is. The caller's cancellation is never transient.
func (c *Client) failure(ctx context.Context, a *attempt, method, show, msg string, err error) *Error {
	e := &Error{Kind: Other, Target: c.cfg.Target, Method: method, Path: show, Message: msg, Err: err}
	if ctx.Err() != nil {
		return e
	}
	stage, limit := a.Stage(), c.cfg.Timeout
	if stage <= netfail.Handshaking {
		limit = c.cfg.ConnectTimeout
	}
	if a.silent() {
		err, limit = errSilent, c.cfg.Timeout
	}
	if ne := netfail.New(stage, c.origin, c.cfg.Keys, limit, err); ne != nil {
		e.Message, e.Err = "", ne
		if !ne.Permanent() {
			e.Kind = Transient
		}
		return e
	}
	if netfail.Transient(err) {
		e.Kind = Transient
	}
	return e
}

// answerError is the *Error of an error answer (not 2xx) with body data.
func (c *Client) answerError(r *Request, show string, resp *http.Response, data []byte) *Error {
	e := &Error{Kind: KindOf(resp.StatusCode, r.Retry500), Target: c.cfg.Target, Method: r.Method, Path: show, Status: resp.StatusCode}
	e.serialization = r.Retry500 && resp.StatusCode == http.StatusInternalServerError
	if e.serialization || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		c.contention.Add(1)
	}
	explain := r.Explain
	if explain == nil {
		explain = c.cfg.Explain
	}
	if explain != nil {
		explain(e, resp.Header, data)
	} else {
		e.Message = ServerMessage(data)
	}
	if e.Message == "" && len(e.Fields) == 0 {
		e.Message = http.StatusText(resp.StatusCode)
	}
	return e
}

// ServerMessage returns the "message" of a JSON error body, or a short
// excerpt of a body that is not such JSON.
func ServerMessage(body []byte) string {
	var m struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &m) == nil && m.Message != "" {
		return m.Message
	}
	return Excerpt(body, 200)
}

// Excerpt returns body, trimmed, cut after n bytes with an ellipsis.
func Excerpt(body []byte, n int) string {
	s := strings.TrimSpace(string(body))
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}
