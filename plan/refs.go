package plan

// Refs names the target ids that appear in the changes' lists, so that
// renderers show names rather than ids.
type Refs struct {
	Names map[string]string // target id -> display name
	Via   map[Via]string    // a member that came into a group through a nested group, or leaves it through one -> that group's name
	// Attrs names the scalar attributes whose values are ids that Names
	// names (Icinga's "default_channel"): renderers show the name, apply
	// still sends the id.
	Attrs []string
}

// Value returns how the value v of attribute attr is shown: its name
// when attr holds ids and Names names v, else v.
func (r *Refs) Value(attr, v string) string {
	for _, a := range r.Attrs {
		if a == attr {
			if name, ok := r.Names[v]; ok {
				return name
			}
		}
	}
	return v
}

// Via is a member of a group's list: the group's id (Owner) and the
// member's id.
type Via struct{ Owner, Member string }

// Name returns how member id is shown in owner's list:
// "dave (via dev)", "dave", or id itself when no name is known.
func (r *Refs) Name(owner, id string) string {
	name, ok := r.Names[id]
	if !ok {
		name = id
	}
	if len(r.Via) > 0 {
		if via, ok := r.Via[Via{owner, id}]; ok {
			return name + " (via " + via + ")"
		}
	}
	return name
}
