package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
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
	// Timeout bounds how long an attempt waits for the server: for the
	// answer to begin, and then for each further part of its body. It
	// does not bound a long body that keeps arriving (a list of 100,000
	// contacts streams for minutes on a real server). 0 means
	// [DefaultTimeout].
	Timeout time.Duration
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
	DefaultTimeout = 30 * time.Second
	defaultMaxBody = 256 << 20
)

// Client sends requests to one API under one retry policy and counts
// the answers that mean the server has too much at once. It is safe for
// concurrent use.
type Client struct {
	cfg        Config
	contention atomic.Int64
}

// New returns a client for cfg; it does not contact the server.
func New(cfg Config) *Client {
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{Transport: Transport(), CheckRedirect: NoRedirect}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
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
	return &Client{cfg: cfg}
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
	show := r.Show
	if show == "" {
		show = r.Path
	}
	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	idle := time.AfterFunc(c.cfg.Timeout, func() { cancel(errSilent) })
	defer idle.Stop()
	fail := func(msg string, err error) *Error {
		if context.Cause(actx) == errSilent {
			err = fmt.Errorf("%w (%s): %w", errSilent, c.cfg.Timeout, err)
		}
		k := Other
		if ctx.Err() == nil && transientCause(err) {
			k = Transient
		}
		return &Error{Kind: k, Target: c.cfg.Target, Method: r.Method, Path: show, Message: msg, Err: err}
	}
	data := r.Body
	if r.NewBody != nil {
		data = r.NewBody()
	}
	var body io.Reader
	if data != nil {
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(actx, r.Method, c.cfg.BaseURL+r.Path, body)
	if err != nil {
		return nil, wait, fail("", err)
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
	resp, err := c.cfg.HTTP.Do(req)
	if err != nil {
		return nil, wait, fail("", err)
	}
	defer resp.Body.Close()
	resp.Body = &idleBody{ReadCloser: resp.Body, idle: idle, d: c.cfg.Timeout}
	ok := resp.StatusCode >= 200 && resp.StatusCode < 300
	if ok && r.Consume != nil {
		if err := r.Consume(resp.Header, resp.Body); err != nil {
			return nil, wait, fail("read answer", err)
		}
		return &Response{Status: resp.StatusCode, Header: resp.Header}, wait, nil
	}
	data, err = io.ReadAll(io.LimitReader(resp.Body, c.cfg.MaxBody))
	if err != nil {
		return nil, wait, fail("read answer", err)
	}
	if ok {
		return &Response{Status: resp.StatusCode, Header: resp.Header, Body: data}, wait, nil
	}
	e = &Error{Kind: KindOf(resp.StatusCode, r.Retry500), Target: c.cfg.Target, Method: r.Method, Path: show, Status: resp.StatusCode}
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
	if e.Kind == Transient {
		wait = RetryAfter(resp.Header.Get("Retry-After"), c.cfg.Now(), c.cfg.Policy.MaxRetryAfter)
	}
	return nil, wait, e
}

// errSilent ends an attempt whose server sent nothing for the timeout. It
// is a deadline, so the failure is transient.
var errSilent = fmt.Errorf("the server sent nothing for the configured timeout: %w", context.DeadlineExceeded)

// idleBody restarts the attempt's timer whenever a read brings data, so
// the timeout bounds each silence, not the whole body.
type idleBody struct {
	io.ReadCloser
	idle *time.Timer
	d    time.Duration
}

func (b *idleBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.idle.Reset(b.d)
	}
	return n, err
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
