package plan

import "fmt"

// Action is what a change does to one target object.
type Action rune

const (
	// NoOp: Before and After are equal; nothing is sent. NoOp changes are
	// never written to a plan file.
	NoOp Action = '='
	// Create: Before is nil, After is the object to create.
	Create Action = '+'
	// Update: Before is the current target object, After the desired one;
	// the object keeps its id and its name.
	Update Action = '~'
	// Rename: as Update, and After carries a different Name than Before.
	// It is applied as an update of the same object, never delete + create.
	Rename Action = '>'
	// Adopt: the object already exists in the target under the id ldapply
	// derives for it (made by an earlier, interrupted apply or by the
	// blog post's script) but is not in the state. Apply records it in the
	// state, and sends After only when it differs from Before.
	Adopt Action = '&'
	// Delete: Before is the object to delete (as the target showed it at
	// plan time, or as the state remembers it), After is nil.
	Delete Action = '-'
)

// String returns the action's word as the summary line uses it.
func (a Action) String() string {
	switch a {
	case NoOp:
		return "no-op"
	case Create:
		return "create"
	case Update:
		return "update"
	case Rename:
		return "rename"
	case Adopt:
		return "adopt"
	case Delete:
		return "delete"
	}
	return fmt.Sprintf("Action(%q)", rune(a))
}

// Symbol returns the prefix shown before a change in the human diff.
func (a Action) Symbol() string {
	switch a {
	case Rename:
		return "~>"
	case Adopt:
		return "<="
	}
	return string(rune(a))
}

// MarshalText encodes the action as its word, so plan files stay readable.
func (a Action) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText decodes the word written by MarshalText.
func (a *Action) UnmarshalText(b []byte) error {
	for _, c := range []Action{NoOp, Create, Update, Rename, Adopt, Delete} {
		if c.String() == string(b) {
			*a = c
			return nil
		}
	}
	return fmt.Errorf("unknown action %q", b)
}
