package teamwire_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/providers/teamwire"
)

// TestUnlistedSettingsLeftAlone checks docs/teamwire.md's promise that a
// setting neither derived from source: nor listed under settings: is
// left as it is: connect_delay and connect_attempts set by hand in
// Teamwire stay, although source: has its own (ldapply's) values.
func TestUnlistedSettingsLeftAlone(t *testing.T) {
	ctx := context.Background()
	sim, url := newSim(t)
	for _, org := range []int{12, 13} {
		sim.SetSetting(org, "connect_delay", 42)
		sim.SetSetting(org, "connect_attempts", 9)
	}
	render := func(p *teamwire.Provider) string {
		t.Helper()
		pl, err := p.Plan(ctx, &plan.Directory{}, plan.Bindings{})
		if err != nil {
			t.Fatal(err)
		}
		var text bytes.Buffer
		if err := plan.Render(&text, pl, plan.FormatText, plan.RenderOptions{}); err != nil {
			t.Fatal(err)
		}
		return text.String()
	}

	text := render(newProvider(t, url, nil, ldapPW))
	for _, field := range []string{"connect_delay", "connect_attempts"} {
		if strings.Contains(text, field) {
			t.Errorf("the plan changes %s, which settings: does not list:\n%s", field, text)
		}
	}

	text = render(newProvider(t, url, func(c *teamwire.Config) { c.Settings["connect_delay"] = 7 }, ldapPW))
	if want := `~ connect_delay            = "42" -> "7"`; !strings.Contains(text, want) {
		t.Errorf("the plan lacks %q for a listed setting:\n%s", want, text)
	}
	if strings.Contains(text, "connect_attempts") {
		t.Errorf("the plan changes connect_attempts, which settings: does not list:\n%s", text)
	}
}
