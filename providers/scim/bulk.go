package scim

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"strconv"
	"sync"

	"github.com/ldapply/ldapply/apply"
	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/providers/httpapi"
)

var _ apply.Preparer = (*Provider)(nil)

const (
	bulkRequestSchema = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
	// bulkEnvelope bounds the bytes of a bulk request around its
	// operations, so that a request is kept within maxPayloadSize.
	bulkEnvelope = 128
)

// bulkState holds a plan's creates and, once /Bulk has been asked to
// make them, the outcome of each.
type bulkState struct {
	mu      sync.Mutex
	creates map[plan.Kind][]*plan.Change
	sent    map[plan.Kind]bool
	// outcome maps kind and change key to what its bulk operation did;
	// a change without one is created on its own.
	outcome map[plan.Kind]map[string]bulkOutcome
}

// bulkOutcome is what became of one create sent in bulk.
type bulkOutcome struct {
	id  string // the new resource's id, on success
	err error  // the operation's error, final
	// lost: the request's answer was lost; the resource may exist, so it
	// is looked for by externalId before it is created on its own.
	lost bool
}

// Prepare notes the plan's creates, so that the first create of a kind
// sends all of them through /Bulk when the service offers it.
func (p *Provider) Prepare(pl *plan.Plan) {
	b := &bulkState{creates: map[plan.Kind][]*plan.Change{}, sent: map[plan.Kind]bool{}, outcome: map[plan.Kind]map[string]bulkOutcome{}}
	for i := range pl.Changes {
		if c := &pl.Changes[i]; c.Action == plan.Create && c.After != nil {
			b.creates[c.Kind] = append(b.creates[c.Kind], c)
		}
	}
	p.bulk = b
}

// bulkOutcomeOf returns what /Bulk did with the create c, sending the
// plan's creates of c's kind first if nobody has; ok is false when c is
// to be created on its own (no bulk, or its operation got no final
// answer). An outcome is handed out once: a change apply sends again
// goes on its own.
func (p *Provider) bulkOutcomeOf(ctx context.Context, c *plan.Change) (bulkOutcome, bool, error) {
	b := p.bulk
	if b == nil || p.cfg.DisableBulk || len(b.creates[c.Kind]) < 2 {
		return bulkOutcome{}, false, nil
	}
	caps, err := p.capabilities(ctx)
	if err != nil {
		return bulkOutcome{}, false, err
	}
	if !bulkUsable(caps) {
		return bulkOutcome{}, false, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.sent[c.Kind] {
		b.sent[c.Kind] = true
		b.outcome[c.Kind] = p.sendBulk(ctx, caps, b.creates[c.Kind])
	}
	o, ok := b.outcome[c.Kind][c.Key]
	delete(b.outcome[c.Kind], c.Key)
	return o, ok, nil
}

// sendBulk POSTs the creates to /Bulk in requests within the service's
// maxOperations and maxPayloadSize, and returns the outcome of each
// create by key. A create too large for a request of its own is left to
// be created alone.
func (p *Provider) sendBulk(ctx context.Context, caps *Capabilities, creates []*plan.Change) map[string]bulkOutcome {
	out := map[string]bulkOutcome{}
	var batch []*plan.Change
	var ops []json.RawMessage
	size := bulkEnvelope
	flush := func() {
		if len(ops) > 0 {
			p.bulkRequest(ctx, batch, ops, out)
		}
		batch, ops, size = nil, nil, bulkEnvelope
	}
	for _, c := range creates {
		op, err := json.Marshal(map[string]any{"method": http.MethodPost, "path": "/" + endpointOf(c.Kind),
			"bulkId": strconv.Itoa(len(ops)), "data": p.createBody(c)})
		if err != nil || bulkEnvelope+len(op) > caps.BulkMaxPayloadSize {
			continue
		}
		if len(ops) == caps.BulkMaxOperations || size+len(op)+1 > caps.BulkMaxPayloadSize {
			flush()
			op, _ = json.Marshal(map[string]any{"method": http.MethodPost, "path": "/" + endpointOf(c.Kind),
				"bulkId": "0", "data": p.createBody(c)})
		}
		batch, ops, size = append(batch, c), append(ops, op), size+len(op)+1
	}
	flush()
	return out
}

// bulkRequest sends one bulk request of ops (op i creates batch[i],
// bulkId i) and records each outcome in out.
func (p *Provider) bulkRequest(ctx context.Context, batch []*plan.Change, ops []json.RawMessage, out map[string]bulkOutcome) {
	body, _ := json.Marshal(map[string]any{"schemas": []string{bulkRequestSchema}, "Operations": ops})
	res, err := p.client.do(ctx, &httpapi.Request{Method: http.MethodPost, Path: "Bulk", Body: body})
	switch st := httpapi.StatusOf(err); {
	case err == nil:
	case st == http.StatusRequestEntityTooLarge || st == http.StatusNotImplemented || st == http.StatusNotFound || st == http.StatusMethodNotAllowed:
		return // the service will not take it in bulk: each goes alone
	case st == 0 || IsTransient(err) || st >= 500:
		for _, c := range batch {
			out[c.Key] = bulkOutcome{lost: true}
		}
		return
	default:
		for _, c := range batch {
			out[c.Key] = bulkOutcome{err: err}
		}
		return
	}
	var answer struct {
		Operations []struct {
			BulkID   string          `json:"bulkId"`
			Status   json.RawMessage `json:"status"`
			Location string          `json:"location"`
			Response json.RawMessage `json:"response"`
		} `json:"Operations"`
	}
	if err := json.Unmarshal(res.Body, &answer); err != nil {
		for _, c := range batch {
			out[c.Key] = bulkOutcome{lost: true} // an answer we cannot read says nothing
		}
		return
	}
	for _, a := range answer.Operations {
		i, err := strconv.Atoi(a.BulkID)
		if err != nil || i < 0 || i >= len(batch) {
			continue
		}
		c := batch[i]
		st := statusOf(a.Status)
		switch {
		case st >= 200 && st < 300 && a.Location != "":
			out[c.Key] = bulkOutcome{id: path.Base(a.Location)}
		case st >= 200 && st < 300:
			// Made, but the answer does not say where: found by its key.
			out[c.Key] = bulkOutcome{lost: true}
		case st == http.StatusTooManyRequests || st == http.StatusServiceUnavailable || st == http.StatusBadGateway || st == http.StatusGatewayTimeout:
			// Not done and worth trying again: it goes alone, with retries.
		case st >= 400:
			e := &httpapi.Error{Kind: httpapi.KindOf(st, false), Target: "scim", Method: http.MethodPost, Path: "Bulk (" + endpointOf(c.Kind) + ")", Status: st, Attempts: 1}
			explain(e, nil, a.Response)
			out[c.Key] = bulkOutcome{err: e}
		}
	}
}

// statusOf reads a bulk operation's status, a string by RFC 7644 §3.7.3
// and a number at some services.
func statusOf(raw json.RawMessage) int {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		n, _ := strconv.Atoi(s)
		return n
	}
	var n int
	json.Unmarshal(raw, &n)
	return n
}

// createOne is a create sent on its own: looked for by externalId first
// when an earlier attempt (a bulk request whose answer was lost) may
// have made it.
func (p *Provider) createOne(ctx context.Context, c *plan.Change, lookFirst bool) (Resource, error) {
	if lookFirst {
		found, err := p.client.List(ctx, endpointOf(c.Kind), ListOptions{Filter: "externalId eq " + quote(c.Key)})
		if err != nil {
			return nil, fmt.Errorf("the bulk request that carried it got no answer, and looking for it by externalId failed (%w); plan again: the next plan adopts it if it was made", err)
		}
		if len(found) == 1 {
			return found[0], nil
		}
	}
	return p.client.Create(ctx, endpointOf(c.Kind), p.createBody(c))
}
