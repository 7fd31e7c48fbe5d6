package scim

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/ldapply/ldapply/providers/httpapi"
)

// Endpoints of the two resource types.
const (
	Users  = "Users"
	Groups = "Groups"
)

const patchSchema = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

// ClientConfig configures a Client.
type ClientConfig struct {
	Config
	// HTTP sends the requests; nil means one built from Config's TLS
	// settings.
	HTTP *http.Client
	// UserAgent is sent as User-Agent.
	UserAgent string
	// Policy is the retry policy; zero fields take httpapi's defaults.
	Policy httpapi.Policy
	// Log receives the lines of requests that wait and of retried
	// network failures; nil discards them.
	Log *slog.Logger
}

// Client talks to one SCIM service. It is safe for concurrent use.
type Client struct {
	api      *httpapi.Client
	auth     string // the Authorization header of a bearer token; "" with Basic
	pageSize int
}

// NewClient returns a client for a resolved configuration; it does not
// contact the service.
func NewClient(cfg ClientConfig) (*Client, error) {
	hc := cfg.HTTP
	if hc == nil {
		tr := httpapi.SetConnectTimeout(httpapi.Transport(), cmp.Or(max(cfg.ConnectTimeout, 0), httpapi.DefaultConnectTimeout))
		tlsCfg, err := httpapi.TLS(cfg.CACert, nil, cfg.InsecureSkipVerify)
		if err != nil {
			return nil, fmt.Errorf("scim: %w", err)
		}
		tr.TLSClientConfig = tlsCfg
		hc = &http.Client{Transport: tr, CheckRedirect: httpapi.NoRedirect}
	}
	c := &Client{pageSize: cfg.PageSize}
	if c.pageSize <= 0 {
		c.pageSize = DefaultPageSize
	}
	if cfg.Token != "" {
		c.auth = "Bearer " + cfg.Token
	}
	c.api = httpapi.New(httpapi.Config{
		Target:         "scim",
		BaseURL:        strings.TrimRight(cfg.URL, "/") + "/",
		HTTP:           hc,
		Timeout:        cfg.Timeout,
		ConnectTimeout: cfg.ConnectTimeout,
		Log:            cfg.Log,
		Policy:         cfg.Policy,
		Username:       cfg.Username,
		Password:       cfg.Password,
		UserAgent:      cfg.UserAgent,
		Explain:        explain,
	})
	return c, nil
}

// ContentionSignals returns how many answers so far were 429 or 503.
func (c *Client) ContentionSignals() int64 { return c.api.ContentionSignals() }

func (c *Client) do(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
	if r.Header == nil {
		r.Header = http.Header{}
	}
	r.Header.Set("Accept", "application/scim+json, application/json")
	if c.auth != "" {
		r.Header.Set("Authorization", c.auth)
	}
	if r.Body != nil {
		r.Header.Set("Content-Type", "application/scim+json")
	}
	return c.api.Do(ctx, r)
}

// Capabilities is what /ServiceProviderConfig says the service supports.
type Capabilities struct {
	Patch, ETag, Filter, Bulk, ChangePassword, Sort bool
	FilterMaxResults                                int
	BulkMaxOperations, BulkMaxPayloadSize           int
	// AuthenticationSchemes are the schemes' types ("oauthbearertoken").
	AuthenticationSchemes []string
}

// Discover reads /ServiceProviderConfig.
func (c *Client) Discover(ctx context.Context) (*Capabilities, error) {
	res, err := c.do(ctx, &httpapi.Request{Method: http.MethodGet, Path: "ServiceProviderConfig", Repeatable: true})
	if err != nil {
		return nil, err
	}
	type flag struct {
		Supported bool `json:"supported"`
	}
	var spc struct {
		Patch, Etag, ChangePassword, Sort flag
		Filter                            struct {
			Supported  bool `json:"supported"`
			MaxResults int  `json:"maxResults"`
		}
		Bulk struct {
			Supported      bool `json:"supported"`
			MaxOperations  int  `json:"maxOperations"`
			MaxPayloadSize int  `json:"maxPayloadSize"`
		}
		AuthenticationSchemes []struct {
			Type string `json:"type"`
		}
	}
	if err := json.Unmarshal(res.Body, &spc); err != nil {
		return nil, fmt.Errorf("scim: GET ServiceProviderConfig: the answer is not a ServiceProviderConfig: %w", err)
	}
	caps := &Capabilities{Patch: spc.Patch.Supported, ETag: spc.Etag.Supported, Filter: spc.Filter.Supported,
		Bulk: spc.Bulk.Supported, ChangePassword: spc.ChangePassword.Supported, Sort: spc.Sort.Supported,
		FilterMaxResults: spc.Filter.MaxResults, BulkMaxOperations: spc.Bulk.MaxOperations, BulkMaxPayloadSize: spc.Bulk.MaxPayloadSize}
	for _, s := range spc.AuthenticationSchemes {
		caps.AuthenticationSchemes = append(caps.AuthenticationSchemes, s.Type)
	}
	return caps, nil
}

// Resource is one SCIM resource as the service returned it, attribute
// names as it spelled them.
type Resource map[string]any

// ID is the service's id of r.
func (r Resource) ID() string { return r.str("id") }

// ExternalID is r's externalId, or "".
func (r Resource) ExternalID() string { return r.str("externalId") }

// Version is r's meta.version, or "".
func (r Resource) Version() string {
	m, _ := r.get("meta").(map[string]any)
	v, _ := m["version"].(string)
	return v
}

// Members returns the ids in r's members.
func (r Resource) Members() []string {
	ids, _ := r.get("members").(memberIDs)
	return slices.Clip(ids)
}

func (r Resource) str(name string) string { s, _ := r.get(name).(string); return s }

// get returns an attribute, its name compared case-insensitively (RFC
// 7643 §2.1).
func (r Resource) get(name string) any {
	if v, ok := r[name]; ok {
		return v
	}
	for k, v := range r {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}

// ListOptions narrow a list.
type ListOptions struct {
	// Filter is a SCIM filter (`externalId eq "…"`); "" lists everything.
	Filter string
	// Excluded are attributes the service need not return ("members").
	Excluded []string
}

// listAhead is how many pages List asks for at once, once the first
// page has told it how many there are: the service renders one while
// ldapply decodes another, and a SaaS service's round trips overlap.
const listAhead = 4

// listPage is one page of a list.
type listPage struct {
	TotalResults int        `json:"totalResults"`
	Resources    []Resource `json:"Resources"`
}

// List reads every resource of endpoint (Users or Groups) page by page.
// It pages on by the number of resources each page holds, since a
// service may return fewer than asked and report itemsPerPage wrongly,
// and stops at totalResults or at an empty page. After the first page
// it asks for the pages that size and totalResults predict, listAhead
// at a time; a page the service cut short makes it read on from there
// one page at a time, so the result is as if read in sequence.
func (c *Client) List(ctx context.Context, endpoint string, opt ListOptions) ([]Resource, error) {
	first, err := c.page(ctx, endpoint, opt, 1)
	if err != nil {
		return nil, err
	}
	pages := map[int]*listPage{1: first}
	if n := len(first.Resources); n > 0 && first.TotalResults > n {
		var starts []int
		for s := 1 + n; s <= first.TotalResults; s += n {
			starts = append(starts, s)
		}
		if err := c.pagesAhead(ctx, endpoint, opt, starts, pages); err != nil {
			return nil, err
		}
	}
	var all []Resource
	seen := map[string]bool{}
	for start := 1; ; {
		pg := pages[start]
		if pg == nil {
			if pg, err = c.page(ctx, endpoint, opt, start); err != nil {
				return nil, err
			}
		}
		for _, r := range pg.Resources {
			if seen[r.ID()] {
				return nil, fmt.Errorf("scim: GET %s: the page at startIndex %d repeats resource %s; the service seems to ignore startIndex, so its list cannot be read whole", endpoint, start, r.ID())
			}
			seen[r.ID()] = true
		}
		all = append(all, pg.Resources...)
		start += len(pg.Resources)
		if len(pg.Resources) == 0 || start > pg.TotalResults {
			return all, nil
		}
	}
}

// pagesAhead reads the pages at starts, listAhead at a time, into
// pages; the first error ends it.
func (c *Client) pagesAhead(ctx context.Context, endpoint string, opt ListOptions, starts []int, pages map[int]*listPage) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		mu  sync.Mutex
		wg  sync.WaitGroup
		sem = make(chan struct{}, listAhead)
	)
	for _, s := range starts {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			pg, err := c.page(ctx, endpoint, opt, s)
			if err != nil {
				cancel(err)
				return
			}
			mu.Lock()
			pages[s] = pg
			mu.Unlock()
		}()
	}
	wg.Wait()
	return context.Cause(ctx)
}

// page reads the page of endpoint at startIndex start.
func (c *Client) page(ctx context.Context, endpoint string, opt ListOptions, start int) (*listPage, error) {
	q := url.Values{"startIndex": {strconv.Itoa(start)}, "count": {strconv.Itoa(c.pageSize)}}
	if opt.Filter != "" {
		q.Set("filter", opt.Filter)
	}
	if len(opt.Excluded) > 0 {
		q.Set("excludedAttributes", strings.Join(opt.Excluded, ","))
	}
	var pg *listPage
	_, err := c.do(ctx, &httpapi.Request{Method: http.MethodGet, Path: endpoint + "?" + q.Encode(), Show: endpoint, Repeatable: true,
		Consume: func(_ http.Header, r io.Reader) (err error) {
			pg, err = decodePage(r)
			return err
		}})
	if err != nil {
		return nil, err
	}
	return pg, nil
}

// Get reads one resource; its ETag is the answer's header, or
// meta.version.
func (c *Client) Get(ctx context.Context, endpoint, id string) (Resource, string, error) {
	res, err := c.do(ctx, &httpapi.Request{Method: http.MethodGet, Path: endpoint + "/" + url.PathEscape(id), Repeatable: true})
	if err != nil {
		return nil, "", err
	}
	return decodeOne(res, endpoint)
}

func decodeOne(res *httpapi.Response, endpoint string) (Resource, string, error) {
	if len(res.Body) == 0 {
		return nil, res.Header.Get("ETag"), nil
	}
	var r Resource
	if err := json.Unmarshal(res.Body, &r); err != nil {
		return nil, "", fmt.Errorf("scim: %s: the answer is not a resource: %w", endpoint, err)
	}
	tag := res.Header.Get("ETag")
	if tag == "" {
		tag = r.Version()
	}
	return r, tag, nil
}

// Create POSTs a resource and returns it as the service stored it. When
// the answer is lost and the body has an externalId, the resource is
// looked for by it before the POST is sent again, so a lost answer does
// not create it twice.
func (c *Client) Create(ctx context.Context, endpoint string, body Resource) (Resource, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("scim: POST %s: %w", endpoint, err)
	}
	req := &httpapi.Request{Method: http.MethodPost, Path: endpoint, Body: b}
	if ext := body.ExternalID(); ext != "" {
		req.Recover = func(ctx context.Context) (*httpapi.Response, error) {
			found, err := c.List(ctx, endpoint, ListOptions{Filter: fmt.Sprintf("externalId eq %s", quote(ext))})
			if err != nil || len(found) != 1 {
				return nil, err
			}
			b, err := json.Marshal(found[0])
			return &httpapi.Response{Status: http.StatusCreated, Header: http.Header{}, Body: b}, err
		}
	}
	res, err := c.do(ctx, req)
	if err != nil {
		return nil, err
	}
	r, _, err := decodeOne(res, endpoint)
	return r, err
}

// Replace PUTs a whole resource (RFC 7644 §3.5.1), for a service
// without PATCH, and returns the new ETag. With ifMatch a changed
// resource fails with ErrDrift.
func (c *Client) Replace(ctx context.Context, endpoint, id, ifMatch string, body Resource) (string, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return "", fmt.Errorf("scim: PUT %s: %w", endpoint, err)
	}
	req := &httpapi.Request{Method: http.MethodPut, Path: endpoint + "/" + url.PathEscape(id), Body: b, Header: http.Header{}, Repeatable: true}
	if ifMatch != "" {
		req.Header.Set("If-Match", ifMatch)
	}
	res, err := c.do(ctx, req)
	if err != nil {
		return "", wrapDrift(err)
	}
	_, tag, err := decodeOne(res, endpoint)
	return tag, err
}

// Delete deletes a resource; one already gone is no error.
func (c *Client) Delete(ctx context.Context, endpoint, id, ifMatch string) error {
	req := &httpapi.Request{Method: http.MethodDelete, Path: endpoint + "/" + url.PathEscape(id), Repeatable: true, Header: http.Header{}}
	if ifMatch != "" {
		req.Header.Set("If-Match", ifMatch)
	}
	_, err := c.do(ctx, req)
	if IsNotFound(err) {
		return nil
	}
	return wrapDrift(err)
}

// Op is one PATCH operation (RFC 7644 §3.5.2).
type Op struct {
	Op    string `json:"op"`
	Path  string `json:"path,omitempty"`
	Value any    `json:"value,omitempty"`
}

// Patch sends ops in one PATCH and returns the new ETag (or "" when the
// service sends none). With ifMatch a changed resource fails with
// ErrDrift. The ops must be safe to repeat (add of members, replace,
// remove): a transient failure sends them again, and when the first
// attempt landed, a repeat under If-Match fails with ErrDrift, which the
// caller resolves by reading the resource again.
func (c *Client) Patch(ctx context.Context, endpoint, id, ifMatch string, ops []Op) (string, error) {
	b, err := json.Marshal(map[string]any{"schemas": []string{patchSchema}, "Operations": ops})
	if err != nil {
		return "", fmt.Errorf("scim: PATCH %s: %w", endpoint, err)
	}
	req := &httpapi.Request{Method: http.MethodPatch, Path: endpoint + "/" + url.PathEscape(id), Body: b, Header: http.Header{},
		Repeatable: true}
	if ifMatch != "" {
		req.Header.Set("If-Match", ifMatch)
	}
	res, err := c.do(ctx, req)
	if err != nil {
		return "", wrapDrift(err)
	}
	_, tag, err := decodeOne(res, endpoint)
	return tag, err
}

// PatchMembers removes and adds members of a group in PATCHes of at
// most max member changes each (and at most max operations): removes as
// `members[value eq "…"]` operations, adds as one `add` of a value list.
// Each PATCH after the first carries the ETag the one before returned.
// It returns the last ETag.
func (c *Client) PatchMembers(ctx context.Context, id, ifMatch string, add, remove []string, max int) (string, error) {
	if max <= 0 {
		max = DefaultPatchOperations
	}
	tag := ifMatch
	for len(add) > 0 || len(remove) > 0 {
		var ops []Op
		n := min(len(remove), max)
		for _, m := range remove[:n] {
			ops = append(ops, Op{Op: "remove", Path: "members[value eq " + quote(m) + "]"})
		}
		remove = remove[n:]
		if room := max - n; room > 0 && len(add) > 0 {
			k := min(len(add), room)
			if n > 0 && k == room { // keep operations within max too
				k--
			}
			if k > 0 {
				vals := make([]map[string]string, k)
				for i, m := range add[:k] {
					vals[i] = map[string]string{"value": m}
				}
				ops = append(ops, Op{Op: "add", Path: "members", Value: vals})
				add = add[k:]
			}
		}
		var err error
		if tag, err = c.Patch(ctx, Groups, id, tag, ops); err != nil {
			return "", err
		}
	}
	return tag, nil
}

func wrapDrift(err error) error {
	if IsPrecondition(err) {
		return fmt.Errorf("%w: %w", ErrDrift, err)
	}
	return err
}

// quote returns s as a SCIM filter string value (JSON).
func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
