package ldap

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	goldap "github.com/go-ldap/ldap/v3"

	"github.com/ldapply/ldapply/internal/arena"
	"github.com/ldapply/ldapply/plan"
	"github.com/ldapply/ldapply/providers/netfail"
)

// Source reads users and groups from an LDAP server.
type Source struct {
	cfg Config
	log *slog.Logger
	// Progress, when set, is called with the number of entries in each
	// page as it arrives (users and groups alike), one call at a time.
	Progress   func(entries int)
	progressMu sync.Mutex
	// UserAttributes, when not nil, are the only user attributes read
	// besides those the source needs itself (the key, and
	// userAccountControl on AD): the ones the target's mapping uses (see
	// mapping.Attributes). nil reads every user attribute.
	UserAttributes []string
	// waitEvery is how often an exchange that waits is logged; 0 means
	// netfail.DefaultEvery. Tests shorten it.
	waitEvery time.Duration
	// afterPage, set by tests only, runs on the connection between pages.
	afterPage func(*goldap.Conn)
}

// New returns a Source for cfg, which Read resolves (see Config.Resolve)
// each time it runs. A nil log discards log records.
func New(cfg Config, log *slog.Logger) *Source {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Source{cfg: cfg, log: log}
}

// Read connects, binds and returns every user and group the configured
// searches select, each list sorted by NormDN. It returns an error, and
// never a partial Directory, when anything fails: the connection, a
// search or any page of it, an entry without its key, or ctx ending.
// Read may be called more than once; each call uses a new connection.
func (s *Source) Read(ctx context.Context) (*plan.Directory, error) {
	cfg := s.cfg
	if err := cfg.Resolve(); err != nil {
		return nil, err
	}
	sch := schemas[cfg.Schema]
	if cfg.InsecureSkipVerify {
		s.log.Warn("TLS certificate verification of the LDAP server is off (source.insecure_skip_verify): anyone between ldapply and the server can read the bind password; use source.ca_cert instead.", "uri", cfg.URI)
	}
	// A connection that breaks during the read (a server restart, an
	// invalidated page cookie) restarts the whole read, up to
	// connect_attempts times: the result is a complete read or an error.
	for attempt := 1; ; attempt++ {
		dir, err := s.readOnce(ctx, &cfg, sch)
		var broken *brokenRead
		if err == nil || !errors.As(err, &broken) || ctx.Err() != nil || attempt >= cfg.ConnectAttempts {
			return dir, err
		}
		delay := time.Duration(cfg.ConnectDelay)
		msg := "The LDAP server dropped the paged search (busy, unavailable, or it forgot the page cookie)"
		if ne := netfail.As(broken.err); ne != nil {
			msg = "ldap: " + ne.Sentence()
		}
		s.log.Warn(msg+"; reading everything again from the start.", "attempt", attempt, "of", cfg.ConnectAttempts, "delay", delay, "err", broken.err)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, err
		case <-t.C:
		}
	}
}

// brokenRead marks a read that failed after connecting because the
// connection broke or the server lost the paged search: worth a new read.
type brokenRead struct{ err error }

func (e *brokenRead) Error() string { return e.err.Error() }
func (e *brokenRead) Unwrap() error { return e.err }

// lostMidway reports whether err, from a search on an established
// connection, means the connection or the server's paging state was lost:
// the connection was cut off or fell silent (see package netfail), or the
// server was busy or forgot the paged search.
func lostMidway(err error) bool {
	if ne := netfail.As(err); ne != nil {
		return ne.Class == netfail.CutOff || ne.Class == netfail.Silent
	}
	var le *goldap.Error
	if errors.As(err, &le) {
		switch le.ResultCode {
		case goldap.ErrorNetwork, goldap.LDAPResultBusy, goldap.LDAPResultUnavailable:
			return true
		case goldap.LDAPResultUnwillingToPerform, goldap.LDAPResultProtocolError, goldap.LDAPResultOther:
			// slapd and AD answer a stale paged-results cookie so.
			return strings.Contains(strings.ToLower(le.Error()), "cookie")
		}
		return false
	}
	// go-ldap reports a connection its reader lost as plain text.
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		strings.Contains(err.Error(), "unable to read LDAP response packet")
}

// readOnce connects and reads users and groups once. The two searches
// run at the same time on two connections: decoding the answers is most
// of a large read's work, and this spreads it over two cores.
func (s *Source) readOnce(parent context.Context, cfgp *Config, sch schema) (_ *plan.Directory, err error) {
	cfg := *cfgp
	// The first failure stops the other search: closing a connection
	// aborts whatever operation is in flight on it.
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	var conns [2]*goldap.Conn
	for i := range conns {
		if conns[i], err = s.connect(ctx, &cfg); err != nil {
			return nil, err // connect has tried connect_attempts times
		}
		conn := conns[i]
		defer conn.Close()
		stop := context.AfterFunc(ctx, func() { conn.Close() })
		defer stop()
	}
	// Once connected, a read that broke is worth starting over (see Read).
	defer func() {
		if err != nil && parent.Err() == nil && lostMidway(err) {
			err = &brokenRead{err}
		}
	}()
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	fail := func(err error) {
		once.Do(func() { first = err; cancel(err) })
	}

	// Each page is converted as it arrives and go-ldap's entries (every
	// value held twice, as string and bytes) are dropped with the page:
	// peak memory follows the result, not twice the result.
	norm := newDNCache()
	users := &collector{s: s, what: "users", key: cfg.Users.Key, norm: norm}
	var referred [2][]string // users, groups
	wg.Go(func() {
		if err := s.readUsers(ctx, conns[0], &cfg, users); err != nil && !isReferred(err, &referred[0]) {
			fail(err)
		}
	})
	groups := &collector{s: s, what: "groups", key: cfg.Groups.Key, memberAttrs: sch.memberAttrs, norm: norm}
	wg.Go(func() {
		if err := s.readGroups(ctx, conns[1], &cfg, sch, groups); err != nil && !isReferred(err, &referred[1]) {
			fail(err)
		}
	})
	wg.Wait()
	if first != nil {
		return nil, first
	}
	dir := &plan.Directory{Users: users.done(), Groups: groups.done()}
	for i, k := range []plan.Kind{plan.KindUser, plan.KindGroup} {
		if referred[i] != nil {
			if dir.Referred == nil {
				dir.Referred = map[plan.Kind][]string{}
			}
			dir.Referred[k] = referred[i]
		}
	}
	if cfg.Groups.Nested && cfg.Schema == "ad" {
		if err := s.transitive(ctx, conns[1], &cfg, dir); err != nil {
			return nil, err
		}
	}
	return dir, nil
}

// readUsers runs the users search on conn into users, skipping
// disabled accounts unless the configuration includes them.
func (s *Source) readUsers(ctx context.Context, conn *goldap.Conn, cfg *Config, users *collector) error {
	var extra []string
	if !cfg.Users.IncludeDisabled {
		extra = append(extra, "userAccountControl") // see disabled
	}
	skipped := 0
	err := s.search(ctx, conn, cfg, "users", cfg.Users.SearchConfig, cfg.Users.Filter, s.UserAttributes, extra, func(e *goldap.Entry) error {
		if s.disabled(cfg, e) {
			skipped++
			return nil
		}
		return users.add(e)
	}, nil)
	if skipped > 0 {
		s.log.Info("Skipped disabled accounts (userAccountControl bit 0x2); set source.users.include_disabled to sync them.", "count", skipped)
	}
	return err
}

// readGroups runs the groups search on conn into groups. A group with a
// member list in parts is completed once its page has arrived (more
// searches on the connection), the rest at once.
func (s *Source) readGroups(ctx context.Context, conn *goldap.Conn, cfg *Config, sch schema, groups *collector) error {
	var ranged []string
	if cfg.Groups.RangeSize > 0 {
		for _, a := range cfg.Groups.RangeAttributes {
			ranged = append(ranged, fmt.Sprintf("%s;range=0-%d", a, cfg.Groups.RangeSize-1))
		}
	}
	var partial []*goldap.Entry
	return s.search(ctx, conn, cfg, "groups", cfg.Groups.SearchConfig, groupFilter(cfg, sch), nil, ranged, func(g *goldap.Entry) error {
		for _, a := range cfg.Groups.RangeAttributes {
			if idx, _, _ := findRanged(g, a); idx >= 0 {
				partial = append(partial, g)
				return nil
			}
		}
		return groups.add(g)
	}, func() error {
		for _, g := range partial {
			for _, a := range cfg.Groups.RangeAttributes {
				if err := s.completeRange(ctx, conn, cfg, g, a); err != nil {
					return err
				}
			}
			if err := groups.add(g); err != nil {
				return err
			}
		}
		partial = partial[:0]
		return nil
	})
}

// groupFilter is the groups filter with Include and Exclude applied.
func groupFilter(cfg *Config, sch schema) string {
	parts := []string{cfg.Groups.Filter}
	if len(cfg.Groups.Include) > 0 {
		var b strings.Builder
		b.WriteString("(|")
		for _, n := range cfg.Groups.Include {
			fmt.Fprintf(&b, "(%s=%s)", sch.groupName, goldap.EscapeFilter(n))
		}
		b.WriteString(")")
		parts = append(parts, b.String())
	}
	for _, n := range cfg.Groups.Exclude {
		parts = append(parts, fmt.Sprintf("(!(%s=%s))", sch.groupName, goldap.EscapeFilter(n)))
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return "(&" + strings.Join(parts, "") + ")"
}

// connect dials and binds, trying up to cfg.ConnectAttempts times.
func (s *Source) connect(ctx context.Context, cfg *Config) (*goldap.Conn, error) {
	u, err := cfg.parseURI()
	if err != nil {
		return nil, fmt.Errorf("%suri: %w", keyPrefix, err)
	}
	tlsCfg, err := cfg.tlsConfig(u)
	if err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		start := time.Now()
		conn, err := s.dialBind(ctx, cfg, u, tlsCfg)
		if err == nil {
			s.log.Debug("Connected to the LDAP server.", "uri", cfg.URI, "bind_dn", cfg.BindDN, "attempt", attempt, "duration", time.Since(start))
			return conn, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("ldap: connect to %s: %w", cfg.URI, context.Cause(ctx))
		}
		if !retryable(err) {
			return nil, fmt.Errorf("ldap: %w", err)
		}
		if attempt >= cfg.ConnectAttempts {
			if attempt == 1 {
				return nil, fmt.Errorf("ldap: %w", err)
			}
			return nil, fmt.Errorf("ldap: gave up after %d attempts: %w", attempt, err)
		}
		delay := time.Duration(cfg.ConnectDelay)
		s.log.Warn("Connecting to the LDAP server failed; trying again.", "uri", cfg.URI, "attempt", attempt, "of", cfg.ConnectAttempts, "delay", delay, "err", err)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("ldap: connect to %s: %w (after %d attempts; last: %v)", cfg.URI, context.Cause(ctx), attempt, err)
		case <-t.C:
		}
	}
}

// retryable reports whether trying to connect again may help: not after
// a permanent network failure (see netfail.Error.Permanent) or an LDAP
// result other than the server being busy or unavailable, such as a
// rejected bind.
func retryable(err error) bool {
	if ne := netfail.As(err); ne != nil {
		return !ne.Permanent()
	}
	var le *goldap.Error
	if errors.As(err, &le) {
		switch le.ResultCode {
		case goldap.ErrorNetwork, goldap.LDAPResultBusy, goldap.LDAPResultUnavailable, goldap.LDAPResultOther:
			return true
		}
		return false
	}
	return true
}

// readBuffer is the size of bufferedConn's buffer.
const readBuffer = 64 << 10

// bufferedConn reads its connection through a buffer of readBuffer
// bytes. go-ldap reads through one of 4 KB: a system call for every 4 KB
// of search results, 30,000 for 100,000 users and their groups.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// dialBind makes one attempt to connect (TCP, then TLS or StartTLS) and
// bind. Its errors say what to check, without an "ldap:" prefix; a
// network failure is a *netfail.Error.
func (s *Source) dialBind(ctx context.Context, cfg *Config, u *url.URL, tlsCfg *tls.Config) (*goldap.Conn, error) {
	addr := cfg.address()
	var stage atomic.Int32 // a netfail.Stage
	watch := s.waitLog(func(waited time.Duration) string { return waitingFor(addr, netfail.Stage(stage.Load()), waited) })
	defer watch.Stop()
	fail := func(err error) error {
		if ctx.Err() == nil {
			if ne := netFailure(cfg, netfail.Stage(stage.Load()), err); ne != nil {
				return ne
			}
		}
		return err
	}
	dctx, cancel := context.WithTimeout(ctx, time.Duration(cfg.ConnectTimeout))
	defer cancel()
	var d net.Dialer
	raw, err := d.DialContext(dctx, "tcp", hostPort(u))
	if err != nil {
		return nil, fail(err)
	}
	var nc net.Conn = raw
	if u.Scheme == "ldaps" || cfg.StartTLS {
		stage.Store(int32(netfail.Handshaking))
		watch.Touch()
		if cfg.StartTLS {
			if err := startTLS(dctx, raw); err != nil {
				raw.Close()
				return nil, fmt.Errorf("StartTLS with %s: %w; check that the server offers StartTLS, or use an ldaps:// source.uri", cfg.URI, err)
			}
		}
		tc := tls.Client(raw, tlsCfg)
		if err := tc.HandshakeContext(dctx); err != nil {
			raw.Close()
			return nil, fail(err)
		}
		nc = tc
	}

	conn := goldap.NewConn(bufferedConn{nc, bufio.NewReaderSize(nc, readBuffer)}, nc != raw)
	conn.Start()
	conn.SetTimeout(time.Duration(cfg.Timeout))
	if cfg.BindDN == "" {
		return conn, nil
	}
	stage.Store(int32(netfail.Waiting))
	watch.Touch()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if err := conn.Bind(cfg.BindDN, cfg.BindPassword); err != nil {
		conn.Close()
		if ne := fail(err); ne != err {
			return nil, ne
		}
		hint := ""
		switch {
		case goldap.IsErrorWithCode(err, goldap.LDAPResultInvalidCredentials):
			hint = "; check source.bind_dn and source.bind_password"
		case goldap.IsErrorAnyOf(err, goldap.LDAPResultConfidentialityRequired, goldap.LDAPResultStrongAuthRequired):
			hint = "; the server wants an encrypted connection: use ldaps:// or source.start_tls"
		}
		return nil, fmt.Errorf("bind as %s to %s: %w%s", cfg.BindDN, cfg.URI, readable(err), hint)
	}
	return conn, nil
}

// oidStartTLS names the StartTLS extended operation (RFC 4511 4.14).
const oidStartTLS = "1.3.6.1.4.1.1466.20037"

// startTLS runs the StartTLS extended operation on a fresh connection, so
// that the TLS handshake can then run on it with ctx and with its errors
// intact (go-ldap's Conn.StartTLS flattens them to text).
func startTLS(ctx context.Context, c net.Conn) error {
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	defer c.SetDeadline(time.Time{})

	p := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "LDAP Request")
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, 1, "MessageID"))
	req := ber.Encode(ber.ClassApplication, ber.TypeConstructed, goldap.ApplicationExtendedRequest, nil, "Start TLS")
	req.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, oidStartTLS, "TLS Extended Command"))
	p.AppendChild(req)
	if _, err := c.Write(p.Bytes()); err != nil {
		return ctxErr(ctx, err)
	}
	resp, err := ber.ReadPacket(c)
	if err != nil {
		return ctxErr(ctx, err)
	}
	if len(resp.Children) < 2 || resp.Children[1].Tag != goldap.ApplicationExtendedResponse {
		return errors.New("unexpected response to the StartTLS request")
	}
	if err := goldap.GetLDAPError(resp); err != nil {
		return readable(err)
	}
	return nil
}

// ctxErr prefers ctx's error, which explains a failure better than the
// I/O error it caused.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return err
}

// resultError gives go-ldap's *Error a readable message, such as
// `invalid credentials (LDAP result 49)` instead of
// `LDAP Result Code 49 "Invalid Credentials": `.
type resultError struct{ err *goldap.Error }

func (e resultError) Error() string {
	code := e.err.ResultCode
	var diag string
	if e.err.Err != nil {
		diag = e.err.Err.Error()
	}
	if code >= goldap.ErrorNetwork && diag != "" { // client-side: the cause says it all
		return diag
	}
	msg := fmt.Sprintf("%s (LDAP result %d)", strings.ToLower(goldap.LDAPResultCodeMap[code]), code)
	if diag != "" {
		msg += ": " + diag
	}
	return msg
}

func (e resultError) Unwrap() error { return e.err }

// readable wraps a *goldap.Error in resultError.
func readable(err error) error {
	if le, ok := err.(*goldap.Error); ok {
		return resultError{le}
	}
	return err
}

// search runs one paged search and hands every page to page, or returns
// an error. It asks for the attributes only (every user attribute, "*",
// when only is nil), the key and the extra attributes.
func (s *Source) search(ctx context.Context, conn *goldap.Conn, cfg *Config, what string, sc SearchConfig, filter string, only, extra []string, entry func(*goldap.Entry) error, endPage func() error) error {
	start := time.Now()
	attrs := []string{"*"}
	if only != nil {
		attrs = slices.Clone(only)
	}
	attrs = append(append(attrs, sc.Key), extra...)
	count, pages, err := s.pagedSearch(ctx, conn, cfg, what, sc, filter, attrs, entry, endPage)
	if err != nil {
		return err
	}
	s.log.Info("Searched the LDAP server.", "what", what, "base", sc.Base, "scope", sc.Scope, "filter", filter,
		"count", count, "pages", pages, "duration", time.Since(start).Round(time.Millisecond))
	return nil
}

// pagedSearch runs one paged search for attrs, hands every entry to
// entry as it arrives and then calls endPage (if not nil) after each
// page; it returns the number of entries and pages, or an error (from the
// server, entry or endPage). entry must not use conn; endPage may.
//
// Search result references (continuation references to other
// partitions or servers, which Active Directory sends for subtree
// searches at a domain's root) are skipped with a debug log. A referral
// in place of a result (LDAP result 10: the server does not hold the
// base) ends the search with a *referredError, also logged at debug.
func (s *Source) pagedSearch(ctx context.Context, conn *goldap.Conn, cfg *Config, what string, sc SearchConfig, filter string, attrs []string, entry func(*goldap.Entry) error, endPage func() error) (count, pages int, _ error) {
	scope := goldap.ScopeWholeSubtree
	if sc.Scope == "one" {
		scope = goldap.ScopeSingleLevel
	}
	size := cfg.PageSize
	if what == "groups" {
		// A page is held whole until it has arrived, and a page of 1,000
		// groups of 1,000 members is 1,000,000 values: smaller pages keep
		// the memory of a large read flat, for a few more round trips.
		size = min(size, groupPageSize)
	}
	paging := goldap.NewControlPaging(uint32(size))
	req := goldap.NewSearchRequest(sc.Base, scope, goldap.NeverDerefAliases, 0, 0, false,
		filter, attrs, []goldap.Control{paging})

	fail := func(err error) error {
		hint := ""
		switch {
		case ctx.Err() != nil:
			err = context.Cause(ctx)
		case netFailure(cfg, netfail.Waiting, err) != nil:
			return fmt.Errorf("ldap: search %s under %s with filter %s: %w", what, sc.Base, filter, netFailure(cfg, netfail.Waiting, err))
		case goldap.IsErrorWithCode(err, goldap.LDAPResultSizeLimitExceeded):
			// ldapply pages and asks for no size limit: the server's own
			// total limit for the bind DN, or a server that does not page.
			hint = fmt.Sprintf("; the server's size limit cut the result short: raise the bind DN's total limit (slapd: limits size.prtotal) or narrow source.%s, and check that the server supports paged results (RFC 2696)", what)
		case goldap.IsErrorWithCode(err, goldap.LDAPResultTimeLimitExceeded):
			// ldapply asks for no time limit: the server's own ended the search.
			hint = fmt.Sprintf("; the server's time limit for the bind DN ended the search before its last entry: raise it (slapd: limits time; Active Directory: MaxQueryDuration) or narrow source.%s", what)
		case goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject):
			hint = fmt.Sprintf("; check source.%s.base", what)
		case goldap.IsErrorWithCode(err, goldap.ErrorFilterCompile):
			hint = fmt.Sprintf("; check source.%s.filter", what)
		case goldap.IsErrorWithCode(err, goldap.LDAPResultReferral):
			hint = fmt.Sprintf("; the server holds no such base and referred the search elsewhere: check source.%s.base, or point source.uri at the server that holds it", what)
		}
		return fmt.Errorf("ldap: search %s under %s with filter %s: %w%s", what, sc.Base, filter, readable(err), hint)
	}

	for {
		if ctx.Err() != nil {
			return 0, 0, fail(ctx.Err())
		}
		page := pages + 1
		watch := s.waitLog(func(waited time.Duration) string {
			return fmt.Sprintf("Still waiting for the LDAP search of %s under %s (page %d, %s so far).", what, sc.Base, page, netfail.Seconds(waited))
		})
		res, err := conn.Search(req)
		watch.Stop()
		if goldap.IsErrorWithCode(err, goldap.LDAPResultReferral) {
			// The server holds no such base. The search is skipped; the
			// caller decides what an unread kind means (see referredError).
			urls := referralURLs(err)
			s.log.Debug("Skipping an LDAP search the server referred elsewhere (LDAP result 10): it does not hold the base.", "what", what, "base", sc.Base, "referrals", urls)
			return count, pages, &referredError{urls: urls, err: fail(err)}
		}
		if err != nil {
			return 0, 0, fail(err)
		}
		n := len(res.Entries)
		for i, e := range res.Entries {
			res.Entries[i] = nil // converted: the rest of the page stays, not this
			if err := entry(e); err != nil {
				return 0, 0, err
			}
		}
		refs, controls := res.Referrals, res.Controls
		pages++
		count += n
		s.log.Debug("Read a page of LDAP search results.", "what", what, "page", pages, "count", n)
		if s.Progress != nil {
			s.progressMu.Lock()
			s.Progress(n)
			s.progressMu.Unlock()
		}
		if endPage != nil {
			if err := endPage(); err != nil {
				return 0, 0, err
			}
		}
		if s.afterPage != nil {
			s.afterPage(conn)
		}
		if len(refs) > 0 {
			s.log.Debug("Skipping search references (referrals to other partitions or servers) returned by an LDAP search.", "what", what, "referrals", refs)
		}
		ctl, _ := goldap.FindControl(controls, goldap.ControlTypePaging).(*goldap.ControlPaging)
		if ctl == nil || len(ctl.Cookie) == 0 {
			break // the last page, or a server that returned all at once
		}
		paging.SetCookie(ctl.Cookie)
	}
	return count, pages, nil
}

// referredError is a search the server answered with a referral (LDAP
// result 10) instead of results. The users and groups searches skip it
// and mark the kind in Directory.Referred; other searches fail with it.
type referredError struct {
	urls []string
	err  error
}

func (e *referredError) Error() string { return e.err.Error() }
func (e *referredError) Unwrap() error { return e.err }

// isReferred reports whether err is a referral, storing its URLs
// (never nil) in urls.
func isReferred(err error, urls *[]string) bool {
	var re *referredError
	if !errors.As(err, &re) {
		return false
	}
	*urls = append([]string{}, re.urls...)
	return true
}

// referralURLs returns the URLs of a referral result (RFC 4511 4.1.10:
// the LDAPResult's [3] referral), if the packet holds any.
func referralURLs(err error) []string {
	var le *goldap.Error
	if !errors.As(err, &le) || le.Packet == nil || len(le.Packet.Children) < 2 {
		return nil
	}
	var urls []string
	for _, c := range le.Packet.Children[1].Children {
		if c.ClassType == ber.ClassContext && c.Tag == 3 {
			for _, u := range c.Children {
				if s, ok := u.Value.(string); ok {
					urls = append(urls, s)
				} else {
					urls = append(urls, u.Data.String())
				}
			}
		}
	}
	return urls
}

// groupPageSize caps the page size of the groups search.
const groupPageSize = 100

// uniqueMemberUID matches the optional UID suffix of a nameAndOptionalUID
// value (uniqueMember), such as "#'0101'B".
var uniqueMemberUID = regexp.MustCompile(`#'[01]*'B$`)

// collector converts search results page by page into plan entries.
//
// The entries are held from the read until the target has drafted its
// objects, through every collection cycle of a large read. Their parts
// are therefore cut from shared blocks (see arena.Strings): the entries
// themselves, their DNs and keys, their value lists and values, and
// one string per attribute name. A user entry is then its attribute map
// (two objects) and its share of the blocks, instead of about fifteen
// objects, and go-ldap's copies die with their page. The DNs and keys,
// which the targets keep, are in blocks apart from the values.
type collector struct {
	s           *Source
	what, key   string
	memberAttrs []string // nil for users
	norm        *dnCache
	out         []*plan.Entry
	byKey       map[string]string
	entries     arena.Slab[plan.Entry]
	names       arena.Strings // DNs and keys
	values      arena.Strings
	valueLists  arena.Slab[string]
	attrNames   map[string]string
	members     []dnAnswer // scratch for Source.members
}

func (c *collector) add(e *goldap.Entry) error {
	if c.byKey == nil {
		c.byKey = map[string]string{}
	}
	norm, err := c.norm.normalize(e.DN)
	if err != nil {
		return fmt.Errorf("ldap: the server returned the unparsable DN %q: %w", e.DN, err)
	}
	k, err := renderKey(e, c.key)
	if err != nil {
		return fmt.Errorf("ldap: %s %s: %w; check source.%s.key", c.what[:len(c.what)-1], e.DN, err, c.what)
	}
	if other, dup := c.byKey[k]; dup {
		return fmt.Errorf("ldap: %s %s and %s share the key %s=%s; source.%s.key must be unique", c.what, other, e.DN, c.key, k, c.what)
	}
	dn := norm // most DNs are in their normal form: one string for both
	if dn != e.DN {
		dn = c.names.Add(e.DN)
	}
	k = c.names.Add(k)
	c.byKey[k] = dn

	pe := c.entries.New()
	*pe = plan.Entry{DN: dn, NormDN: norm, Key: k, Attrs: make(map[string][]string, len(e.Attributes))}
	if c.attrNames == nil {
		c.attrNames = map[string]string{}
	}
	for _, a := range e.Attributes {
		if c.memberAttrs != nil && slices.ContainsFunc(c.memberAttrs, func(m string) bool { return strings.EqualFold(m, a.Name) }) {
			continue // kept as Members (normalised), not twice
		}
		name, ok := c.attrNames[a.Name]
		if !ok {
			name = strings.Clone(a.Name)
			c.attrNames[name] = name
		}
		vs := c.valueLists.Take(len(a.Values))
		for i, v := range a.Values {
			vs[i] = c.values.Add(v)
		}
		pe.Attrs[name] = vs
	}
	if c.memberAttrs != nil {
		pe.Members = c.s.members(e, c.memberAttrs, c.norm, &c.members)
	}
	c.out = append(c.out, pe)
	return nil
}

// done returns the entries sorted by NormDN.
func (c *collector) done() []*plan.Entry {
	slices.SortFunc(c.out, func(a, b *plan.Entry) int { return strings.Compare(a.NormDN, b.NormDN) })
	return c.out
}

// members returns the sorted, distinct NormDNs of e's members. Values that
// are not DNs are logged and skipped. scratch is memory members may keep
// for its next call.
func (s *Source) members(e *goldap.Entry, attrs []string, norm *dnCache, scratch *[]dnAnswer) plan.DNs {
	lists, n := make([][]string, len(attrs)), 0
	for i, attr := range attrs {
		lists[i] = e.GetEqualFoldAttributeValues(attr)
		n += len(lists[i])
	}
	found := slices.Grow((*scratch)[:0], n)
	for i, attr := range attrs {
		values := lists[i]
		if strings.EqualFold(attr, "uniqueMember") {
			values = slices.Clone(values)
			for i, v := range values {
				values[i] = uniqueMemberUID.ReplaceAllString(v, "")
			}
		}
		norm.normalizeAll(values, func(i int, n string, id uint32, err error) {
			if err != nil || n == "" {
				s.log.Warn("Skipping a group member value that is not a DN.", "group", e.DN, "attribute", attr, "value", values[i], "err", err)
				return
			}
			found = append(found, dnAnswer{n, id})
		})
	}
	// By their text, as the targets read them; one number is one text.
	slices.SortFunc(found, func(a, b dnAnswer) int { return strings.Compare(a.s, b.s) })
	found = slices.CompactFunc(found, func(a, b dnAnswer) bool { return a.id == b.id })
	var out []uint32
	if len(found) > 0 {
		out = make([]uint32, len(found)) // the list's own, at its size
	}
	for i, a := range found {
		out[i] = a.id
	}
	*scratch = found
	return norm.table.List(out)
}

// renderKey returns e's primary key as a string: objectGUID in its
// canonical text form, any other attribute's single value as is.
func renderKey(e *goldap.Entry, key string) (string, error) {
	raw := e.GetEqualFoldRawAttributeValues(key)
	switch {
	case len(raw) == 0:
		return "", fmt.Errorf("no %s attribute (the key); the entry lacks it or the bind DN may not read it", key)
	case len(raw) > 1:
		return "", fmt.Errorf("%d values of the key attribute %s; a key must be single-valued", len(raw), key)
	case len(raw[0]) == 0:
		return "", fmt.Errorf("an empty key attribute %s", key)
	}
	if strings.EqualFold(key, "objectGUID") {
		return formatGUID(raw[0])
	}
	return string(raw[0]), nil
}

// formatGUID renders a 16-byte Microsoft GUID (the first three fields
// little-endian) as text, such as "2f0c1c27-5a2b-4c5e-8e3f-0123456789ab".
func formatGUID(b []byte) (string, error) {
	if len(b) != 16 {
		return "", fmt.Errorf("objectGUID is %d bytes long, not 16", len(b))
	}
	return fmt.Sprintf("%08x-%04x-%04x-%x-%x",
		binary.LittleEndian.Uint32(b[0:4]), binary.LittleEndian.Uint16(b[4:6]), binary.LittleEndian.Uint16(b[6:8]),
		b[8:10], b[10:16]), nil
}

// attrAliases maps attribute type names and OIDs often found in DNs to
// the short names, so that "commonName=x" and "cn=x" normalise alike.
var attrAliases = map[string]string{
	"commonname": "cn", "2.5.4.3": "cn",
	"userid": "uid", "0.9.2342.19200300.100.1.1": "uid",
	"domaincomponent": "dc", "0.9.2342.19200300.100.1.25": "dc",
	"organizationalunitname": "ou", "2.5.4.11": "ou",
	"organizationname": "o", "2.5.4.10": "o",
	"countryname": "c", "2.5.4.6": "c",
	"localityname": "l", "2.5.4.7": "l",
	"stateorprovincename": "st", "2.5.4.8": "st",
	"streetaddress": "street", "2.5.4.9": "street",
}

// NormalizeDN returns dn in the canonical form of plan.Entry.NormDN:
// parsed by the rules of RFC 4514 (never split at commas), attribute
// types lower-cased (with common long names and OIDs mapped to short
// names), values lower-cased with runs of spaces collapsed, no spaces
// around separators, and special characters escaped. Two DNs naming the
// same entry under case-insensitive matching rules (as uid, cn, ou and dc
// have) normalise to the same string.
func NormalizeDN(dn string) (string, error) {
	if n, ok := normalizeSimpleDN(dn); ok {
		return n, nil
	}
	return normalizeParsedDN(dn)
}

// normalizeParsedDN is NormalizeDN by go-ldap's parser, for any DN.
func normalizeParsedDN(dn string) (string, error) {
	parsed, err := goldap.ParseDN(dn)
	if err != nil {
		return "", err
	}
	for _, rdn := range parsed.RDNs {
		for _, a := range rdn.Attributes {
			a.Type = strings.ToLower(strings.TrimSpace(a.Type))
			if short, ok := attrAliases[a.Type]; ok {
				a.Type = short
			}
			a.Value = strings.Join(strings.Fields(strings.ToLower(a.Value)), " ")
		}
	}
	return parsed.String(), nil
}

// normalizeSimpleDN is NormalizeDN's fast path for the DNs directories
// mostly hold, such as "uid=jdoe,ou=People,dc=example,dc=com": one
// type=value per RDN, types of letters, digits and hyphens that start
// with a letter and have no alias, values of letters, digits and ". _ @
// -". Such a DN has nothing to unescape, trim, collapse or escape, so its
// canonical form is the DN lower-cased (dn itself when it is already).
// It reports false for any other DN. FuzzNormalizeDN checks it against
// the parser.
func normalizeSimpleDN(dn string) (string, bool) {
	if dn == "" {
		return "", false
	}
	upper := false
	var lower [24]byte // an RDN's type, lower-cased, for the alias check
	for i := 0; i < len(dn); {
		// The type.
		start := i
		for i < len(dn) && dn[i] != '=' {
			c := dn[i]
			switch {
			case 'a' <= c && c <= 'z':
			case 'A' <= c && c <= 'Z':
				c += 'a' - 'A'
				upper = true
			case i > start && ('0' <= c && c <= '9' || c == '-'):
			default:
				return "", false
			}
			if i-start >= len(lower) {
				return "", false
			}
			lower[i-start] = c
			i++
		}
		if i == start || i == len(dn) {
			return "", false
		}
		if _, alias := attrAliases[string(lower[:i-start])]; alias {
			return "", false
		}
		// The value.
		i++
		start = i
		for i < len(dn) && dn[i] != ',' {
			c := dn[i]
			switch {
			case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '.', c == '_', c == '@', c == '-':
			case 'A' <= c && c <= 'Z':
				upper = true
			default:
				return "", false
			}
			i++
		}
		if i == start {
			return "", false
		}
		if i < len(dn) { // a comma: another RDN must follow
			i++
			if i == len(dn) {
				return "", false
			}
		}
	}
	if upper {
		return strings.ToLower(dn), true
	}
	return dn, true
}
