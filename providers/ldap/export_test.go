package ldap

import goldap "github.com/go-ldap/ldap/v3"

// SetAfterPage lets tests act on the connection between two pages.
func SetAfterPage(s *Source, fn func(*goldap.Conn)) { s.afterPage = fn }
