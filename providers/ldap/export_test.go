package ldap

import (
	"time"

	goldap "github.com/go-ldap/ldap/v3"
)

// SetAfterPage lets tests act on the connection between two pages.
func SetAfterPage(s *Source, fn func(*goldap.Conn)) { s.afterPage = fn }

// SetWaitEvery sets how often a waiting exchange is logged.
func SetWaitEvery(s *Source, d time.Duration) { s.waitEvery = d }
