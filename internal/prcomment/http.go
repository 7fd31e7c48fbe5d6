package prcomment

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// client sends a platform's requests: the token in the platform's
// header, JSON both ways, and errors that say what to check.
type client struct {
	platform string            // "GitLab", "GitHub": for messages
	header   map[string]string // the token's header and the platform's own
	hint     string            // what to check when the token is refused
	http     *http.Client
}

func newClient(platform, hint string, header map[string]string, hc *http.Client) *client {
	if hc == nil {
		hc = &http.Client{Timeout: time.Minute}
	}
	return &client{platform: platform, header: header, hint: hint, http: hc}
}

// do sends a request with body (nil: none) as JSON and decodes the
// answer into out (nil: discarded). It returns the response's header.
func (c *client) do(ctx context.Context, method, u string, body, out any) (http.Header, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, redact(u), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return nil, c.statusError(method, u, resp)
	}
	if out == nil {
		io.Copy(io.Discard, resp.Body)
		return resp.Header, nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return nil, fmt.Errorf("%s %s: %s's answer is not the JSON expected: %w", method, redact(u), c.platform, err)
	}
	return resp.Header, nil
}

func (c *client) statusError(method, u string, resp *http.Response) error {
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
	what := strings.Join(strings.Fields(string(msg)), " ")
	switch resp.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		what = c.hint
	case http.StatusNotFound:
		what = "check the project and the merge or pull request number, and that the token may read them (" + what + ")"
	}
	return fmt.Errorf("%s answered %s to %s %s: %s", c.platform, resp.Status, method, redact(u), what)
}

// redact returns u without its query, which is never secret here but
// long.
func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	p.RawQuery = ""
	return p.String()
}

// sameOrigin reports whether next, a page link an API returned, is on
// base's scheme and host: the token is sent nowhere else.
func sameOrigin(base, next string) bool {
	b, err1 := url.Parse(base)
	n, err2 := url.Parse(next)
	return err1 == nil && err2 == nil && b.Scheme == n.Scheme && b.Host == n.Host
}
