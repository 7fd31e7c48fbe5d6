package teamwire_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/ldapply/ldapply/fixtures/fault"
	"github.com/ldapply/ldapply/fixtures/teamwiresim"
	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/providers"
	"github.com/ldapply/ldapply/providers/ldap"
	"github.com/ldapply/ldapply/providers/providertest"
	"github.com/ldapply/ldapply/providers/teamwire"
)

// TestConformance runs the cases of the provider conformance suite that
// apply to Teamwire, whose desired state is the settings in the
// configuration (one object per organisation), not users and groups:
// adoption after a lost state, settings ldapply does not manage kept,
// drift, transient failures on reads, writes and login, a lost answer
// on an update, convergence.
func TestConformance(t *testing.T) {
	const org12 = "organisation 12"
	providertest.Run(t, providertest.Harness{
		Start:     startTeamwire,
		Managed:   providertest.Prop{Kind: teamwire.KindSettings, Object: org12, Name: "synchronisation_interval", Values: []string{"45", "50"}},
		Unmanaged: providertest.Prop{Kind: teamwire.KindSettings, Object: org12, Name: "user_profile_phone_attr", Values: []string{"telephoneNumber"}},
		ErrDrift:  teamwire.ErrDrift,
		Login:     true,
	})
}

const twAdmin, twPassword = "ops-bot@example.com", "tw-admin-Secret-5"

// twOrgs are the organisations the configuration names.
var twOrgs = []int{12}

func startTeamwire(t *testing.T, src ldap.Config) *providertest.Sim {
	sim := teamwiresim.New(teamwiresim.Options{
		BasePath: "/admin-api",
		Orgs:     []teamwiresim.Org{{ID: 12, Name: "Example"}, {ID: 13, Name: "Second"}},
		Admins:   []teamwiresim.Admin{{Email: twAdmin, Password: twPassword, Org: 12, Superadmin: true}},
	})
	faulty := &faultyHandler{next: sim, prefix: "/admin-api/v1/admin/"}
	ts := httptest.NewServer(faulty)
	t.Cleanup(ts.Close)
	return &providertest.Sim{
		New: func() providertest.Provider {
			cfg := teamwire.Config{URL: ts.URL + "/admin-api", AllowInsecure: true, Email: twAdmin, Password: twPassword, Organisations: twOrgs,
				Settings: map[string]any{"synchronisation_interval": 30, "user_profile_department_attr": "department"}}
			if err := cfg.Resolve(src.Schema); err != nil {
				t.Fatal(err)
			}
			p, err := teamwire.New(cfg, providers.Env{Source: &src, Version: "test"})
			if err != nil {
				t.Fatal(err)
			}
			return p
		},
		Objects: func() []providertest.Object {
			var out []providertest.Object
			for _, org := range twOrgs {
				o := providertest.Object{Kind: teamwire.KindSettings, ID: strconv.Itoa(org), Name: fmt.Sprint("organisation ", org), Props: map[string]string{}}
				for k, v := range sim.Settings(org) {
					if s := fmt.Sprint(v); k != "bindpw" && s != "" {
						o.Props[k] = s
					}
				}
				out = append(out, o)
			}
			return out
		},
		Set: func(_ plan.Kind, name, prop, value string) {
			org, err := strconv.Atoi(strings.TrimPrefix(name, "organisation "))
			if err != nil {
				t.Fatalf("no organisation in %q", name)
			}
			var v any = value
			if n, err := strconv.ParseInt(value, 10, 64); err == nil {
				v = n
			}
			sim.SetSetting(org, prop, v)
		},
		Fault: func(op providertest.Op, f fault.Fault) {
			switch op {
			case providertest.Read:
				f.Method, f.Path = http.MethodGet, "ldapsettings/"
			case providertest.Update:
				f.Method, f.Path = http.MethodPost, "ldapsettings/"
			case providertest.Login:
				f.Method, f.Path = http.MethodPost, "login/"
			default:
				t.Fatalf("teamwire has no %s requests", op)
			}
			faulty.faults.Add(f)
		},
		Answers: faulty.answers,
	}
}

// faultyHandler applies faults in front of teamwiresim, whose own
// injection answers with a status only: this one also drops the
// connection, sends Retry-After, and lets a write land before it loses
// the answer (AfterWrite). Paths are relative to prefix.
type faultyHandler struct {
	next   http.Handler
	prefix string
	faults fault.Set

	mu       sync.Mutex
	statuses []int // of every answer, 0 for a dropped connection
}

func (h *faultyHandler) answers() []int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.statuses)
}

func (h *faultyHandler) log(status int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.statuses = append(h.statuses, status)
}

func (h *faultyHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f, hit := h.faults.Take(r.Method, strings.TrimPrefix(r.URL.Path, h.prefix))
	if !hit || !f.Fails() {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		h.next.ServeHTTP(rec, r)
		h.log(rec.status)
		return
	}
	h.log(f.SentStatus())
	if f.AfterWrite {
		h.next.ServeHTTP(httptest.NewRecorder(), r)
	}
	if f.Drop {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	}
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(f.Status)
	json.NewEncoder(w).Encode(map[string]string{"message": f.Message})
}

// statusRecorder remembers the status of an answer.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}
