package plan

import (
	"time"
)

// Plan is everything apply needs to execute a reviewed plan, and nothing
// secret.
type Plan struct {
	// FormatVersion is the plan file format (package planfile).
	FormatVersion int `json:"format_version"`
	// ToolVersion is the ldapply version that made the plan.
	ToolVersion string    `json:"tool_version"`
	Created     time.Time `json:"created"`
	// Lineage and Serial identify the state the plan was made against.
	// Apply refuses the plan when either has moved. An empty Lineage means
	// no state existed.
	Lineage string `json:"lineage"`
	Serial  uint64 `json:"serial"`
	// ConfigDigest is a hash of the effective configuration without its
	// secrets; apply refuses a plan made with another configuration.
	ConfigDigest string `json:"config_digest"`
	// Config and State say, for refusals, which configuration file the
	// plan was made with and where its state was (absolute paths, or
	// the PostgreSQL state's description): "" in a plan that does not
	// say.
	Config string `json:"config,omitempty"`
	State  string `json:"state,omitempty"`
	// Source and Target describe where the plan reads and writes, for
	// people; Target is also checked by apply ("icinga https://…").
	Source string `json:"source"`
	Target string `json:"target"`
	// Counts records how many objects each side had, by kind, for the
	// reviewer and for safety checks: "source users", "target groups",
	// "managed users" ...
	Counts map[string]int `json:"counts,omitempty"`
	// Refs name the target ids that appear in list attributes (group
	// members), so renderers can show names. The plan file stores them
	// in a form of its own.
	Refs Refs `json:"-"`
	// Warnings are things the reviewer should know (users skipped ...).
	Warnings []string `json:"warnings,omitempty"`
	// Changes holds every non-NoOp change in apply order within a kind.
	Changes []Change `json:"-"`
}

// Summary counts changes by action.
type Summary struct {
	Add, Change, Rename, Adopt, Destroy int
}

// Summarize counts p's changes.
func (p *Plan) Summarize() Summary {
	var s Summary
	for i := range p.Changes {
		s.Count(&p.Changes[i])
	}
	return s
}

// Count adds one change to s.
func (s *Summary) Count(c *Change) {
	switch c.Action {
	case Create:
		s.Add++
	case Update:
		s.Change++
	case Rename:
		s.Rename++
	case Adopt:
		s.Adopt++
	case Delete:
		s.Destroy++
	}
}

// Total is the number of changes.
func (s Summary) Total() int { return s.Add + s.Change + s.Rename + s.Adopt + s.Destroy }
