package icinga_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/ldapply/ldapply/fixtures/icingasim"
	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/planfile"
)

// TestPlanShowsChannelByName: a plan shows a contact's default channel
// by the channel's name, also once written to a plan file and read back,
// while the change keeps the id, which apply sends.
func TestPlanShowsChannelByName(t *testing.T) {
	p, _ := newProvider(t)
	pl, err := p.Plan(context.Background(), aliceOnly(), plan.Bindings{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pl.Changes) != 1 || pl.Changes[0].After.Attrs["default_channel"] != icingasim.DefaultChannelID {
		t.Fatalf("changes %+v: want alice created with the channel's id", pl.Changes)
	}
	key := bytes.Repeat([]byte{1}, 32)
	var file bytes.Buffer
	if err := planfile.Write(&file, pl, key); err != nil {
		t.Fatal(err)
	}
	read, err := planfile.Read(&file, key)
	if err != nil {
		t.Fatal(err)
	}
	for name, shown := range map[string]*plan.Plan{"plan": pl, "plan file": read} {
		for _, f := range []plan.Format{plan.FormatText, plan.FormatMarkdown} {
			var out bytes.Buffer
			if err := plan.Render(&out, shown, f, plan.RenderOptions{}); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), `default_channel = "Email"`) || strings.Contains(out.String(), icingasim.DefaultChannelID) {
				t.Errorf("%s as %s does not show the channel by name:\n%s", name, f, out.String())
			}
		}
	}
}
