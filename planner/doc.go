// Package planner computes plans for every target that holds users and
// groups: the sync policy lives here once, and a target supplies only
// what it alone knows.
//
// # Basics
//
// A target implements [Target] (how a source entry maps to one of its
// objects, the id a new object gets, what it holds now, and how its
// objects are versioned) and declares [Rules] as data (its name for
// messages, its field limits, how it keeps group members). [Plan] then
// does the rest, the same way for every target:
//
//   - Ownership: only objects the state binds, or adopts, are changed or
//     deleted ([plan.Diff]); an object ldapply does not manage is never
//     touched.
//   - Adoption: a desired object without a binding whose id the target
//     already has is adopted, not created twice.
//   - Names: two source entries with one name (regardless of case) are
//     a conflict; so is a name an unmanaged object already has, except
//     for the kinds in Rules.SharedNames, which get a warning.
//   - Limits: an entry the target cannot store is left out with a
//     warning; a managed one is held: neither updated nor deleted, and
//     its memberships stay.
//   - Members: nested groups are expanded here, once. A target that
//     keeps nested groups (Membership.Groups) gets the direct member
//     groups; one that does not gets every user reached through them,
//     and the plan names the nested group each came through (and, where
//     it can tell, the one a removed member leaves through). Members
//     the target has that ldapply does not manage stay. A member DN that
//     matches no entry read is left out with a warning per group, and a
//     change that removes members the source still has from such a
//     group is flagged: the removal may be caused only by those DNs.
//   - Vanished objects: a managed object the target no longer has is
//     created again, under a warning that counts and names them.
//   - Refs: the names of the ids in the changes' lists, and no others.
//
// # Caveats
//
// Plan reads the directory and the bindings and changes neither; it
// sets the IDs of the desired objects Desire returns to the target's
// strings, so that lists compare equal strings by address first.
//
// Member DNs are matched by number, through the table the entries of
// one read share ([plan.DNs]): each DN is looked up by text once per
// table, however many groups hold it. The groups' members are then
// collected on every core; TestMembersMatchReference checks them against
// a plain version.
//
// Current's member lists must be sorted: unmanaged members are found by
// one walk of the two sorted lists.
package planner
