package planfile_test

import (
	"os"
	"regexp"
	"strconv"
	"testing"

	"github.com/ldapply/ldapply/planfile"
)

// TestPlanJSONDocNamesTheFormat keeps the plan_format that
// docs/plan-json.md shows in step with the format this package writes.
func TestPlanJSONDocNamesTheFormat(t *testing.T) {
	doc, err := os.ReadFile("../docs/plan-json.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`"plan_format":\s*(\d+)`).FindSubmatch(doc)
	if m == nil {
		t.Fatal(`docs/plan-json.md shows no "plan_format"`)
	}
	if n, _ := strconv.Atoi(string(m[1])); n != planfile.FormatVersion {
		t.Errorf(`docs/plan-json.md shows "plan_format": %d, but planfile.FormatVersion is %d; update the document`, n, planfile.FormatVersion)
	}
}
