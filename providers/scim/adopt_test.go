package scim_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/ldapply/ldapply/fixtures/scimsim"
	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/providers/scim"
)

// seedByHand fills the service as a person or another tool would have
// before ldapply: alice and BOB without an externalId, carol with
// another tool's.
func seedByHand(sim *scimsim.Server) map[string]*scimsim.Object {
	sim.Seed(scimsim.User, map[string]any{"userName": "alice", "active": true})
	sim.Seed(scimsim.User, map[string]any{"userName": "BOB", "active": false, "title": "kept"})
	sim.Seed(scimsim.User, map[string]any{"userName": "carol", "externalId": "other-tool-7"})
	out := map[string]*scimsim.Object{}
	for _, u := range sim.Objects(scimsim.User) {
		out[strings.ToLower(u.Attrs["userName"].(string))] = u
	}
	return out
}

// TestAdoptByUsername: with adopt_by_username, users without an
// externalId whose userName the source has are adopted (<=, with a
// warning), keep their ids and get the source key as externalId;
// nothing is created twice.
func TestAdoptByUsername(t *testing.T) {
	// carol is in the sources too: her name is held by a resource of
	// another tool, which stops the plan; drop her from the directory.
	e, sim := newEnv(t, scimsim.Options{}, func(c *scim.Config) { c.AdoptByUsername = true })
	before := seedByHand(sim)
	sim.Delete(before["carol"].ID)
	p := e.MustPlan()
	var adopts []string
	for _, c := range p.Changes {
		if c.Action == plan.Adopt {
			adopts = append(adopts, c.Name())
		}
	}
	if strings.Join(adopts, ",") != "alice,bob" {
		t.Errorf("the plan adopts %q, want alice and bob", adopts)
	}
	var text bytes.Buffer
	plan.Render(&text, p, plan.FormatText, plan.RenderOptions{})
	if !strings.Contains(text.String(), "<= user") {
		t.Errorf("the plan does not show the adoption as <=:\n%s", text.String())
	}
	if w := strings.Join(p.Warnings, "\n"); !strings.Contains(w, `2 users without an externalId are adopted by their userName (target.scim.adopt_by_username); apply sets their externalId to the source key: "alice", "bob"`) {
		t.Errorf("warnings %q do not name the users adopted by userName", w)
	}
	e.MustApply(p)
	e.Converged()
	for _, name := range []string{"alice", "bob"} {
		got := sim.Get(before[name].ID)
		if got == nil || got.Attrs["externalId"] == nil || got.Attrs["active"] != true {
			t.Errorf("%s after the apply: %+v; want the same resource, with an externalId, active", name, got)
		}
	}
	if got := sim.Get(before["bob"].ID); got.Attrs["title"] != "kept" {
		t.Errorf("bob's title, which ldapply does not manage, is %v", got.Attrs["title"])
	}
	if n := len(sim.Objects(scimsim.User)); n != 7 {
		t.Errorf("%d users after the sync, want 7 (none twice)", n)
	}
}

// TestAdoptByUsernameOff: by default, and for a user another tool owns
// (an externalId that is not a source key), a userName the source wants
// stops the plan, and the resource is left as it was.
func TestAdoptByUsernameOff(t *testing.T) {
	for name, tweak := range map[string]func(*scim.Config){
		"default":    nil,
		"other tool": func(c *scim.Config) { c.AdoptByUsername = true },
	} {
		t.Run(name, func(t *testing.T) {
			e, sim := newEnv(t, scimsim.Options{}, tweak)
			before := seedByHand(sim)
			if tweak != nil {
				sim.Delete(before["alice"].ID)
				sim.Delete(before["bob"].ID)
			}
			_, err := e.Plan()
			var conflict *plan.ConflictError
			if !errors.As(err, &conflict) {
				t.Fatalf("plan: %v; want a conflict over the names held by resources ldapply does not own", err)
			}
			for n, o := range before {
				if got := sim.Get(o.ID); (tweak == nil || n == "carol") && (got == nil || got.Version != o.Version) {
					t.Errorf("%s was changed: %+v", n, got)
				}
			}
			if !strings.Contains(err.Error(), "carol") || (tweak == nil && !strings.Contains(err.Error(), "alice")) {
				t.Errorf("the conflict does not name the users: %v", err)
			}
		})
	}
}
