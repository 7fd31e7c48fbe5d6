package ldap

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/ldapply/ldapply/plan"
)

// uacAccountDisable is the ACCOUNTDISABLE bit of userAccountControl
// (MS-ADTS 2.2.16).
const uacAccountDisable = 0x2

// oidInChain is LDAP_MATCHING_RULE_IN_CHAIN (MS-ADTS 3.1.1.3.4.4.2): a
// filter "(memberOf:1.2.840.113556.1.4.1941:=G)" matches the entries
// that are members of G directly or through nested groups.
const oidInChain = "1.2.840.113556.1.4.1941"

// disabled reports whether e is an account to skip: its
// userAccountControl has the ACCOUNTDISABLE bit, and
// users.include_disabled is not set.
func (s *Source) disabled(cfg *Config, e *goldap.Entry) bool {
	if cfg.Users.IncludeDisabled {
		return false
	}
	v := e.GetEqualFoldAttributeValue("userAccountControl")
	if v == "" {
		return false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n&uacAccountDisable != 0 {
		s.log.Debug("Skipping a disabled account.", "dn", e.DN, "userAccountControl", v)
		return true
	}
	return false
}

// rangedName matches an attribute description with a range option
// (MS-ADTS 3.1.1.3.1.3.3), such as "member;range=0-1499" or
// "member;range=1500-*".
var rangedName = regexp.MustCompile(`(?i)^([^;]+);range=(\d+)-(\d+|\*)$`)

// findRanged returns the index in e.Attributes of attr's ranged part and
// its bounds (hi is -1 for "*"), or -1.
func findRanged(e *goldap.Entry, attr string) (idx, lo, hi int) {
	for i, a := range e.Attributes {
		m := rangedName.FindStringSubmatch(a.Name)
		if m == nil || !strings.EqualFold(m[1], attr) {
			continue
		}
		lo, _ = strconv.Atoi(m[2])
		hi = -1
		if m[3] != "*" {
			hi, _ = strconv.Atoi(m[3])
		}
		return i, lo, hi
	}
	return -1, 0, 0
}

// completeRange reads the rest of attr when the server returned only a
// part of it ("member;range=0-1499"), with one base-object search per
// further part, and leaves all values in e under attr. An entry without a
// ranged attr is left alone. Any failure is an error: a group read in
// part would remove members.
func (s *Source) completeRange(ctx context.Context, conn *goldap.Conn, cfg *Config, e *goldap.Entry, attr string) error {
	idx, lo, hi := findRanged(e, attr)
	if idx < 0 {
		return nil
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("ldap: read %s of %s in parts (range retrieval): %s", attr, e.DN, fmt.Sprintf(format, args...))
	}
	if lo != 0 {
		return fail("the server's first part starts at value %d, not 0", lo)
	}
	vals := slices.Clone(e.Attributes[idx].Values)
	raw := slices.Clone(e.Attributes[idx].ByteValues)
	parts := 1
	for hi >= 0 {
		if ctx.Err() != nil {
			return fail("%v", context.Cause(ctx))
		}
		next := hi + 1
		want := fmt.Sprintf("%s;range=%d-*", attr, next)
		if cfg.Groups.RangeSize > 0 {
			want = fmt.Sprintf("%s;range=%d-%d", attr, next, next+cfg.Groups.RangeSize-1)
		}
		res, err := conn.Search(goldap.NewSearchRequest(e.DN, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 0, 0, false,
			"(objectClass=*)", []string{want}, nil))
		if err != nil {
			if ctx.Err() != nil {
				err = context.Cause(ctx)
			}
			return fail("asking for %s: %v", want, readable(err))
		}
		if len(res.Entries) != 1 {
			return fail("asking for %s returned %d entries, not 1", want, len(res.Entries))
		}
		pe := res.Entries[0]
		i, plo, phi := findRanged(pe, attr)
		switch {
		case i < 0:
			return fail("asking for %s returned no part of it", want)
		case plo != next:
			return fail("asking for %s returned the part starting at %d", want, plo)
		case phi >= 0 && (phi < plo || len(pe.Attributes[i].Values) == 0):
			return fail("asking for %s returned the empty part %d-%d", want, plo, phi)
		}
		vals = append(vals, pe.Attributes[i].Values...)
		raw = append(raw, pe.Attributes[i].ByteValues...)
		hi = phi
		parts++
	}
	// The whole attribute replaces its parts and any unranged copy.
	e.Attributes = slices.DeleteFunc(e.Attributes, func(a *goldap.EntryAttribute) bool {
		n, _, _ := strings.Cut(a.Name, ";")
		return strings.EqualFold(n, attr)
	})
	e.Attributes = append(e.Attributes, &goldap.EntryAttribute{Name: attr, Values: vals, ByteValues: raw})
	s.log.Debug("Read an attribute in parts (range retrieval).", "dn", e.DN, "attribute", attr, "values", len(vals), "parts", parts)
	return nil
}

// transitive sets each group's Transitive to its transitive user
// members as the server resolves them: one in-chain search per group
// under users.base. Users not read (filtered out, disabled) are left
// out. The lists share one table, so the planner resolves each user's DN
// once.
func (s *Source) transitive(ctx context.Context, conn *goldap.Conn, cfg *Config, dir *plan.Directory) error {
	users := make(map[string]bool, len(dir.Users))
	for _, u := range dir.Users {
		users[u.NormDN] = true
	}
	table := &plan.DNTable{}
	numbers := map[string]uint32{}
	for _, g := range dir.Groups {
		filter := fmt.Sprintf("(&%s(memberOf:%s:=%s))", cfg.Users.Filter, oidInChain, goldap.EscapeFilter(g.DN))
		out := map[string]bool{}
		_, _, err := s.pagedSearch(ctx, conn, cfg, "users", cfg.Users.SearchConfig, filter, []string{"1.1"}, func(e *goldap.Entry) error {
			n, err := NormalizeDN(e.DN)
			if err == nil && users[n] {
				out[n] = true
			}
			return nil
		}, nil)
		if err != nil {
			return fmt.Errorf("%w (reading the nested members of %s; unset source.groups.nested if the server lacks the in-chain rule)", err, g.DN)
		}
		ids := make([]uint32, 0, len(out))
		for _, dn := range sortedKeys(out) {
			n, ok := numbers[dn]
			if !ok {
				n = table.Add(dn)
				numbers[dn] = n
			}
			ids = append(ids, n)
		}
		l := table.List(ids)
		g.Transitive = &l
	}
	s.log.Debug("Read the transitive members of every group with the in-chain matching rule.", "groups", len(dir.Groups))
	return nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
