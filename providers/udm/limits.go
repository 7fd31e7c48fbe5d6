package udm

import (
	"regexp"
	"unicode"

	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/providers/limits"
)

// The syntax UCS checks a user's username and a group's name with, from
// univention-corporate-server
// management/univention-directory-manager-modules/modules/univention/admin/syntax.py
// (read at 4974f9a): users/user's username has syntax uid_umlauts, the
// regular expression (?u)(^\w[\w -.]*\w$)|\w*$ and no space at all;
// groups/group's name has syntax gid, (?u)^\w([\w -.’]*\w)?$. Python's
// \w is a letter, a number or _ (Unicode categories L and N). " -." is
// the ASCII range from space to the full stop (a FIXME in the source
// says so), which lets ! " # $ % & ' ( ) * + , - . stand inside a name.
// Both classes declare max_length 16 and 32, marked "TODO: not enforced
// here": UCS stores longer names, and so does ldapply.
var (
	usernameSyntax  = regexp.MustCompile(`^[\p{L}\p{N}_](?:[\p{L}\p{N}_!-.]*[\p{L}\p{N}_])?$`)
	groupNameSyntax = regexp.MustCompile(`^[\p{L}\p{N}_](?:[\p{L}\p{N}_ -.’]*[\p{L}\p{N}_])?$`)
)

// word reports whether r is in Python's \w.
func word(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r) }

// Limits are the field limits UCS enforces on what ldapply writes; a
// name that breaks them is a 422 at apply.
var Limits = limits.Table{
	{
		Kind: plan.KindUser, Name: "username", Pattern: usernameSyntax,
		Char:   func(r rune) bool { return word(r) || '!' <= r && r <= '.' },
		Rule:   "UCS usernames (syntax uid_umlauts) hold letters, digits and _, inside also ! \" # $ % & ' ( ) * + , - . but no space, and start and end with a letter, digit or _",
		Source: "univention-corporate-server syntax.py, class uid_umlauts",
	},
	{
		Kind: plan.KindGroup, Name: "name", Pattern: groupNameSyntax,
		Char:   func(r rune) bool { return word(r) || ' ' <= r && r <= '.' || r == '’' },
		Rule:   "UCS group names (syntax gid) hold letters, digits and _, inside also spaces, ! \" # $ % & ' ( ) * + , - . and ’, and start and end with a letter, digit or _",
		Source: "univention-corporate-server syntax.py, class gid",
	},
}
