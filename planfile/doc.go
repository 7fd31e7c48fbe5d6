/*
Package planfile stores a reviewed [plan.Plan] in a file, so that apply
executes exactly what plan showed, or refuses to. Package plan holds the
data; this package holds only its format.

A plan file holds the plan's header (format version, tool version, the
state's lineage and serial, the configuration digest, source, target,
counts, refs and warnings), every change with its Before and After
objects, and a trailer that seals them. It holds directory data (names,
e-mail addresses) but no secret: sensitive values are stored as the
salted hashes the plan holds.

# Basics

[Write] writes a whole plan; [NewWriter], [Writer.Change] and
[Writer.Close] write one change at a time. [Read] reads a whole file into
memory; [Decode] streams it to two callbacks, the header first, then each
change in file order, as `ldapply show` does.

The file is JSON Lines, gzip-compressed (level 1: fast, and most of a
large plan is repeated structure; readers accept it uncompressed too).
The first line is the header, then one line per change, then the trailer

	{"checksum":{"changes":N,"sha256":"…","hmac_sha256":"…"}}

whose sha256 covers every byte before it (corruption: [ErrCorrupt]) and
whose hmac_sha256 is the HMAC-SHA256 of that digest's 32 bytes keyed with
the state's sign key (tampering: only someone holding the state can
produce it; [ErrTampered]). [Read] returns a plan only when both match;
[Decode] checks them once the last change has been passed on, so a
caller that streams must treat what it showed as void when Decode fails.

The header's refs are {"attrs":[attribute,…],"names":{id:name,…},
"via":{group id:{member id:nested group name,…},…}} ([plan.Refs]);
"attrs" is left out when empty.

To keep large plans small, a change line does not hold every list as the
change does in memory:

  - A list that holds ids of earlier changes in the file (a group's
    members, thousands of ids) is stored under "list_refs" instead of
    "lists", as {"refs":[…],"others":[…]}: refs holds the list's values in
    order, each as the number of the change whose id it is (0 is the
    first change line) or, for a value that is no such id, as -1 for the
    first of others, -2 for the second and so on. Restoring a list is one
    lookup per value, in the list's own order.
  - Before's lists, in a change that has an After (update, rename,
    adopt), are stored under "list_diffs" as their difference from
    After's list of the same name: {"added":[…],"removed":[…]}. After's
    lists are stored whole, since apply builds its requests from them.
  - A delete's Before keeps no lists: deleting needs none.

# Caveats

A change holds no request body: apply builds
each request from the reviewed change, after its drift check has proved
that the target objects still have the versions the plan was made
against. What the file holds is therefore what the reviewer saw and what
apply sends, and nothing else.

Before's lists come back as sorted sets, as providers keep them; After's
come back exactly, order and repeats included.

Only [FormatVersion] is read. A file of another version, older or newer,
is refused with one sentence ("… run plan again"): plans are short-lived,
and reading old formats would keep their code alive for little use.

On one core the file is written and read one change after another on
the caller's goroutine. On two or more, [Write] makes a large plan's lines
on every core and [Decode] unmarshals lines ahead on other goroutines; the
file and the changes passed on are the same (TestWriteMatchesSequential,
TestDecodeMatchesSequential), and Decode's callbacks still run on the
caller's goroutine, in file order.
*/
package planfile
