// Package ldap is ldapply's source: it reads the users and groups to sync
// from an LDAP server (OpenLDAP and other inetOrgPerson directories, or
// Active Directory with schema ad) into a plan.Directory.
//
// # Configuration
//
// Config is the "source:" section of the configuration file:
//
//	source:
//	  uri: ldaps://ldap.example.com
//	  ca_cert: /etc/ssl/certs/example-ca.pem
//	  bind_dn: cn=svc-sync,dc=example,dc=com
//	  bind_password_file: /run/secrets/ldap
//	  timeout: 10s
//	  users:
//	    base: ou=people,dc=example,dc=com
//	  groups:
//	    base: ou=groups,dc=example,dc=com
//	    exclude: [legacy]
//
// Config.Resolve fills in the defaults and checks everything it can
// without the network; its errors name the YAML key at fault. Durations
// are strings such as "10s" (see Duration).
//
// # Connecting
//
// The connection is always encrypted unless allow_insecure says
// otherwise: ldaps://, or ldap:// upgraded with StartTLS. The server's
// certificate must chain to ca_cert (or the system roots) and name the
// host in the URI; verification cannot be switched off. Connecting and
// binding is tried connect_attempts times, connect_delay apart, but a
// bind rejected for invalid credentials, or a certificate that fails
// verification, ends the attempts at once. Errors name the URI and bind
// DN and say what to check; they never contain the password.
//
// # Reading
//
// Source.Read runs two searches, users and groups, each with the simple
// paged results control (RFC 2696), so server size limits do not cut
// them short, and asks for all user attributes plus the key attribute,
// which may be operational (entryUUID). It returns a complete
// plan.Directory or an error, never part of one: a failing page, an
// entry without its key, a duplicate key or a cancelled context all fail
// the whole read.
//
// Each entry's Key is its key attribute's value (objectGUID rendered as
// the usual GUID text). Attrs holds every returned attribute under the
// name the server returned and under its lower-case form. NormDN and the
// group Members (values of member and uniqueMember, the latter without
// its optional "#'...'B" UID) are normalised with NormalizeDN, so a
// member written "UID=alice, ou=People,dc=example,dc=com" matches the
// user uid=alice,ou=people,dc=example,dc=com. A member value that is not
// a DN is logged and skipped. Members are direct: a nested group appears
// as the group's NormDN.
//
// Groups include and exclude select groups by cn; names are escaped into
// the filter (RFC 4515), so any characters are safe.
//
// # Active Directory
//
// Schema ad selects users with (&(objectCategory=person)(objectClass=user))
// and groups with (objectClass=group), keyed by objectGUID, whose 16
// bytes are rendered as Windows shows them (the first three fields
// little-endian), so the key matches what PowerShell's Get-ADUser prints
// and what a <GUID=...> DN finds. AD refuses simple binds on a plain
// connection; ldapply refuses them first unless allow_insecure is set,
// and names the cause when the server refuses.
//
// Accounts with the ACCOUNTDISABLE bit (0x2) of userAccountControl are
// skipped unless users.include_disabled is set; a disabled user is then
// absent, as if deleted, and drops out of every group.
//
// AD returns at most MaxValRange values (1,500 by default) of an
// attribute and names the part it returned, "member;range=0-1499". For
// every attribute in groups.range_attributes (default member) Read asks
// for the following parts until the last ("member;range=1500-*") and
// stores the whole under the plain name; any failure fails the Read.
// groups.range_size asks for parts of a fixed size instead (Samba, unlike
// Windows, returns every value unless asked for a range).
//
// Search result references, which AD returns for subtree searches at the
// domain root (to the Configuration partition, DomainDnsZones and so
// on), are skipped with a debug log. So is a users or groups search the
// server answers with a referral instead of results (LDAP result 10: it
// does not hold the base); Read marks that kind in Directory.Referred,
// and plan then keeps every managed object of that kind the read did
// not return, with a warning: skipping must never read as "everything
// was deleted". A referral on any other search (AD's in-chain reads) is
// an error.
//
// With groups.nested on AD, Read also sets each group's Transitive to
// its transitive user members, from one search per group with the
// in-chain matching rule (1.2.840.113556.1.4.1941), which the server
// evaluates with cycle detection and which also follows nested groups
// the groups search does not return. Elsewhere nesting is the
// planner's: it expands the groups read (package planner). Members
// always stay the direct members.
package ldap
