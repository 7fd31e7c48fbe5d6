// Package plan holds ldapply's pure data and logic: the objects a source
// and a target are described with, the diff between them, and the
// renderers that show a plan to a person or a program. Package planfile
// stores a plan in a file.
//
// # Basics
//
// A source (LDAP) is read into a [Directory] of [Entry] values. A target
// provider turns it into desired [Object] values and reads its current
// objects; [Diff] compares the two, guided by the state's bindings
// (primary key -> target id), and returns the [Change] list of a [Plan].
//
// # Caveats
//
// The package does no I/O of its own: the renderers take an io.Writer,
// and nothing here imports net, os or bbolt.
package plan
