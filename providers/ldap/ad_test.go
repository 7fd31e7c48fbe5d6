package ldap_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/google/uuid"

	"github.com/ldapply/ldapply/fixtures/samba"
	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/providers/ldap"
)

// adDomain is the data TestActiveDirectory loads into Samba.
type adDomain struct {
	s                         *samba.Server
	staff, groups, bulk       string // OU DNs
	alice, bob, carol, dave   string // user DNs; carol is disabled
	ops, l1, l2, l3, cyA, cyB string // group DNs
	big                       string // group of bigSize members
	bigMembers                []string
}

const bigSize = 2100 // more than AD's default MaxValRange, 1500

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func loadAD(t *testing.T, s *samba.Server) *adDomain {
	t.Helper()
	str := must[string](t)
	d := &adDomain{s: s}
	d.staff, d.groups, d.bulk = str(s.AddOU("Staff")), str(s.AddOU("Groups")), str(s.AddOU("Bulk"))
	d.alice = str(s.AddUser(samba.User{OU: d.staff, SAMAccountName: "alice", CN: "Alice Adams", DisplayName: "Alice Adams", Mail: "alice@example.com"}))
	d.bob = str(s.AddUser(samba.User{OU: d.staff, SAMAccountName: "bob", Mail: "bob@example.com"}))
	d.carol = str(s.AddUser(samba.User{OU: d.staff, SAMAccountName: "carol", Mail: "carol@example.com", Disabled: true}))
	d.dave = str(s.AddUser(samba.User{OU: d.staff, SAMAccountName: "dave", Mail: "dave@example.com"}))
	d.ops = str(s.AddGroup(d.groups, "ops", d.alice, d.bob, d.carol))
	// A chain of three levels: l1 ⊃ l2 ⊃ l3, and a cycle cyA ⊃ cyB ⊃ cyA.
	d.l3 = str(s.AddGroup(d.groups, "l3", d.dave))
	d.l2 = str(s.AddGroup(d.groups, "l2", d.bob, d.l3))
	d.l1 = str(s.AddGroup(d.groups, "l1", d.alice, d.l2))
	d.cyA = str(s.AddGroup(d.groups, "cy-a", d.alice))
	d.cyB = str(s.AddGroup(d.groups, "cy-b", d.dave, d.cyA))
	if err := s.AddMembers(d.cyA, d.cyB); err != nil {
		t.Fatal(err)
	}
	var bulk []samba.User
	for i := range bigSize {
		bulk = append(bulk, samba.User{OU: d.bulk, SAMAccountName: fmt.Sprintf("bulk%04d", i), NoPassword: true})
	}
	d.bigMembers = must[[]string](t)(s.AddUsers(bulk))
	d.big = str(s.AddGroup(d.groups, "big", d.bigMembers...))
	return d
}

func (d *adDomain) config() ldap.Config {
	return ldap.Config{
		URI:             d.s.LDAPSURL,
		CACert:          d.s.CACertFile,
		BindDN:          d.s.AdminDN,
		BindPassword:    d.s.AdminPassword,
		Schema:          "ad",
		ConnectAttempts: 1,
		PageSize:        2,
		Users:           ldap.UserConfig{SearchConfig: ldap.SearchConfig{Base: d.staff}},
		Groups:          ldap.GroupConfig{SearchConfig: ldap.SearchConfig{Base: d.groups}, Exclude: []string{"big"}},
	}
}

func norm(t *testing.T, dns ...string) []string {
	t.Helper()
	var out []string
	for _, dn := range dns {
		n, err := ldap.NormalizeDN(dn)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

func bySAM(t *testing.T, es []*plan.Entry, name string) *plan.Entry {
	t.Helper()
	for _, e := range es {
		if e.First("sAMAccountName") == name {
			return e
		}
	}
	t.Fatalf("no entry with sAMAccountName %q", name)
	return nil
}

// TestActiveDirectory reads a real Samba AD domain with schema ad. The
// domain is provisioned once; the subtests share it.
func TestActiveDirectory(t *testing.T) {
	start := time.Now()
	s := samba.StartT(t, samba.Options{})
	t.Logf("Samba AD DC provisioned and started in %s", time.Since(start).Round(time.Millisecond))
	start = time.Now()
	d := loadAD(t, s)
	t.Logf("test data (%d users) loaded in %s", bigSize+4, time.Since(start).Round(time.Millisecond))

	t.Run("defaults", func(t *testing.T) {
		dir := read(t, d.config())
		if got, want := normDNs(dir.Users), norm(t, d.alice, d.bob, d.dave); !slices.Equal(got, want) {
			t.Errorf("users = %q, want %q (carol is disabled)", got, want)
		}
		a := bySAM(t, dir.Users, "alice")
		for _, attr := range []string{"sAMAccountName", "samaccountname", "displayName", "displayname", "mail"} {
			if a.First(attr) == "" {
				t.Errorf("alice has no %s: %v", attr, a.Attrs)
			}
		}
		ops := bySAM(t, dir.Groups, "ops")
		if want := norm(t, d.alice, d.bob, d.carol); !slices.Equal(ops.Members.Strings(), want) {
			t.Errorf("ops members = %q, want %q (direct members as stored)", ops.Members.Strings(), want)
		}
		if ops.Transitive != nil {
			t.Errorf("transitive members without groups.nested")
		}
	})

	t.Run("object_guid", func(t *testing.T) {
		dir := read(t, d.config())
		a := bySAM(t, dir.Users, "alice")
		raw, err := s.ObjectGUID(d.alice)
		if err != nil {
			t.Fatal(err)
		}
		// Windows shows the first three fields little-endian.
		b := slices.Clone(raw)
		slices.Reverse(b[0:4])
		slices.Reverse(b[4:6])
		slices.Reverse(b[6:8])
		if want := uuid.UUID(b).String(); a.Key != want {
			t.Errorf("key = %s, want %s (from %x)", a.Key, want, raw)
		}
		// Round trip: the server finds the object by the key's text.
		c, err := s.Conn()
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		res, err := c.Search(goldap.NewSearchRequest("<GUID="+a.Key+">", goldap.ScopeBaseObject, goldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", []string{"sAMAccountName"}, nil))
		if err != nil || len(res.Entries) != 1 || res.Entries[0].GetAttributeValue("sAMAccountName") != "alice" {
			t.Errorf("search <GUID=%s>: %v %v", a.Key, err, res)
		}
	})

	t.Run("include_disabled", func(t *testing.T) {
		cfg := d.config()
		cfg.Users.IncludeDisabled = true
		dir := read(t, cfg)
		if got, want := normDNs(dir.Users), norm(t, d.alice, d.bob, d.carol, d.dave); !slices.Equal(got, want) {
			t.Errorf("users = %q, want %q", got, want)
		}
	})

	t.Run("logon_names", func(t *testing.T) {
		// AD administrators write bind_dn as a user principal name or a
		// down-level logon name; AD takes both in a simple bind.
		for _, name := range []string{"alice@example.com", `EXAMPLE\alice`, "Administrator@example.com", `EXAMPLE\Administrator`} {
			cfg := d.config()
			cfg.BindDN, cfg.BindPassword = name, samba.UserPassword
			if strings.Contains(name, "Administrator") {
				cfg.BindPassword = d.s.AdminPassword
			}
			if err := cfg.Resolve(); err != nil {
				t.Fatalf("bind_dn %q: %v", name, err)
			}
			dir := read(t, cfg)
			if got, want := normDNs(dir.Users), norm(t, d.alice, d.bob, d.dave); !slices.Equal(got, want) {
				t.Errorf("bound as %s: users = %q, want %q", name, got, want)
			}
			// The bind is a real one: a wrong password is refused.
			cfg.BindPassword = "wrong-" + cfg.BindPassword
			if _, err := ldap.New(cfg, nil).Read(context.Background()); err == nil || !strings.Contains(err.Error(), "bind as "+name) {
				t.Errorf("bound as %s with a wrong password: %v", name, err)
			}
		}
	})

	t.Run("large_group", func(t *testing.T) {
		want := norm(t, d.bigMembers...)
		for _, size := range []int{0, 1000} {
			cfg := d.config()
			cfg.Groups.Exclude = nil
			cfg.Groups.Include = []string{"big"}
			cfg.Groups.RangeSize = size
			rec := &logRecorder{}
			dir, err := ldap.New(cfg, slog.New(rec)).Read(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			big := bySAM(t, dir.Groups, "big")
			if !slices.Equal(big.Members.Strings(), want) {
				t.Errorf("range_size %d: big has %d members, want %d", size, big.Members.Len(), len(want))
			}
			for a := range big.Attrs {
				if strings.Contains(a, ";") {
					t.Errorf("range_size %d: attribute %s left in Attrs", size, a)
				}
			}
			if size > 0 && !slices.Contains(rec.messages("parts"), "Read an attribute in parts (range retrieval). parts=3") {
				t.Errorf("range_size %d: no read in 3 parts logged: %q", size, rec.messages("parts"))
			}
		}
	})

	t.Run("large_group_gone_midway", func(t *testing.T) {
		// The group vanishes between its first part and the next: the
		// read fails rather than return the first part alone.
		doomed, err := s.AddGroup(d.groups, "doomed", d.bigMembers...)
		if err != nil {
			t.Fatal(err)
		}
		cfg := d.config()
		cfg.Groups.Exclude = nil
		cfg.Groups.Include = []string{"doomed"}
		cfg.Groups.RangeSize = 1000
		rec := &logRecorder{hook: func(r slog.Record) {
			// Pages are handed on (and their ranges completed) after
			// this debug line.
			if r.Message != "Read a page of LDAP search results." {
				return
			}
			r.Attrs(func(a slog.Attr) bool {
				if a.Key == "what" && a.Value.String() == "groups" {
					if err := s.Delete(doomed); err != nil {
						t.Error(err)
					}
				}
				return true
			})
		}}
		dir, err := ldap.New(cfg, slog.New(rec)).Read(context.Background())
		want := "ldap: read member of " + doomed + " in parts (range retrieval): asking for member;range=1000-1999: no such object (LDAP result 32)"
		if dir != nil || err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("got %v, error\n%v\nwant one starting\n%s", dir, err, want)
		}
	})

	t.Run("nested", func(t *testing.T) {
		cfg := d.config()
		cfg.Groups.Nested = true
		dir := read(t, cfg)
		for _, c := range []struct {
			group string
			want  []string
		}{
			{"l1", norm(t, d.alice, d.bob, d.dave)},
			{"l2", norm(t, d.bob, d.dave)},
			{"l3", norm(t, d.dave)},
			{"cy-a", norm(t, d.alice, d.dave)},
			{"cy-b", norm(t, d.alice, d.dave)},
			{"ops", norm(t, d.alice, d.bob)}, // carol is disabled
		} {
			g := bySAM(t, dir.Groups, c.group)
			if got := transitive(g); !slices.Equal(got, c.want) {
				t.Errorf("%s transitive members = %q, want %q", c.group, got, c.want)
			}
		}
		if got, want := bySAM(t, dir.Groups, "l1").Members.Strings(), norm(t, d.alice, d.l2); !slices.Equal(got, want) {
			t.Errorf("l1 members = %q, want the direct members %q", got, want)
		}
		// A group outside groups.base is still followed: l2 excluded.
		cfg.Groups.Exclude = []string{"big", "l2"}
		dir = read(t, cfg)
		if got, want := transitive(bySAM(t, dir.Groups, "l1")), norm(t, d.alice, d.bob, d.dave); !slices.Equal(got, want) {
			t.Errorf("l1 transitive members with l2 excluded = %q, want %q", got, want)
		}
	})

	t.Run("search_references_skipped", func(t *testing.T) {
		cfg := d.config()
		cfg.Users.Base = s.BaseDN // the domain root: AD sends references to other partitions
		cfg.Users.Filter = "(&(objectCategory=person)(objectClass=user)(sAMAccountName=alice))"
		rec := &logRecorder{}
		dir, err := ldap.New(cfg, slog.New(rec)).Read(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(dir.Users) != 1 {
			t.Errorf("users = %q", normDNs(dir.Users))
		}
		if !slices.ContainsFunc(rec.messages("referrals"), func(m string) bool {
			return strings.HasPrefix(m, "Skipping search references") && strings.Contains(m, "CN=Configuration")
		}) {
			t.Errorf("no debug log of the skipped reference: %q", rec.messages("referrals"))
		}
	})

	t.Run("foreign_base_is_an_error", func(t *testing.T) {
		// Samba answers noSuchObject where Windows AD sends a referral;
		// either way the read fails rather than reading no groups.
		cfg := d.config()
		cfg.Groups.Base = "DC=other,DC=org"
		_, err := ldap.New(cfg, nil).Read(context.Background())
		if err == nil || !strings.Contains(err.Error(), "check source.groups.base") {
			t.Errorf("groups.base in no partition of the server: %v", err)
		}
	})

	t.Run("plain_ldap", func(t *testing.T) {
		cfg := d.config()
		cfg.URI = s.URL
		cfg.CACert = ""
		_, err := ldap.New(cfg, nil).Read(context.Background())
		if err == nil || !strings.Contains(err.Error(), "ldap:// sends the password in clear text") {
			t.Errorf("ldap:// without start_tls: %v", err)
		}
		cfg.AllowInsecure = true
		_, err = ldap.New(cfg, nil).Read(context.Background())
		if err == nil || !strings.Contains(err.Error(), "the server wants an encrypted connection: use ldaps:// or source.start_tls") {
			t.Errorf("ldap:// with allow_insecure against AD: %v", err)
		}
		cfg.AllowInsecure = false
		cfg.StartTLS = true
		cfg.CACert = s.CACertFile
		if dir := read(t, cfg); len(dir.Users) != 3 {
			t.Errorf("StartTLS: users = %q", normDNs(dir.Users))
		}
	})
}

// transitive returns g's transitive members as the source resolved them,
// or nil.
func transitive(g *plan.Entry) []string {
	if g.Transitive == nil {
		return nil
	}
	return g.Transitive.Strings()
}
