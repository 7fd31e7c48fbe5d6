/*
Package httpapi is the HTTP layer every HTTP target of ldapply (Icinga
Notifications Web, UDM, Teamwire) sends its requests through: one retry
policy, one error type with kinds, and a count of the answers that mean
the server has too much at once.

# Basics

A target makes one [Client] with [New], naming itself in [Config.Target]
(errors read "icinga: PUT contacts/…: …") and giving its base URL, its
HTTP client (with [Transport], which keeps connections for reuse and
reads through a large buffer) and its [Config.Explain], which turns an
error answer into a message a person can act on. Each call is a
[Request] given to [Client.Do]:

	res, err := c.Do(ctx, &httpapi.Request{
		Method: http.MethodPut, Path: "contacts/" + id, Body: body,
		Repeatable: true, // an upsert: sending it twice does no harm
		Retry500:   true, // a 500 is a serialization failure that stored nothing
	})
	if httpapi.IsNotFound(err) { ... }

The request says what the target knows about it:
  - Repeatable: sending it twice does no harm (GET, PUT that replaces,
    DELETE, a login). Only such a request is retried, unless Recover makes
    it safe: Recover looks for the effect of the attempts so far (UDM
    searches a create's object by its key property) and either returns
    the answer to report or lets the request be sent again.
  - Retry500: a 500 means the write overlapped another and stored
    nothing (Icinga, §8 of its API contract). Without it a 500 is final.
  - Consume: the answer's body is read as it arrives (Icinga's lists of
    100,000 contacts); a connection that breaks mid-body is retried and
    Consume starts over.
  - NewBody: each attempt gets a fresh body (Teamwire's login with a
    one-time code).

The policy ([Policy]): a transient failure ([Transient]: 408, 429, 502,
503, 504, a 500 the request marked, a refused or reset connection, a
connection closed early, a timeout) of a request
that may be retried is sent again, 5 attempts in all by default, after
a capped exponential backoff with jitter, or after the server's
Retry-After (seconds or an HTTP date, capped at a minute). A marked 500
has limits of its own (ContentionAttempts, ContentionBase,
ContentionMax): Icinga gives it more attempts with shorter waits. The
caller's context ending is never retried.

Two bounds apply to each attempt: the transport's connect timeout
([SetConnectTimeout]: the TCP connection and the TLS handshake, each)
and [Config.Timeout], each silence once connected. The client follows
each attempt through its stages (connecting, TLS handshake, waiting for
the answer, reading it) with an httptrace.ClientTrace. While an attempt
waits, [Config.Log] gets "Still waiting for https://… (TLS handshake,
5 s so far)." after half of [Config.WaitEvery], then every WaitEvery
(one line per interval for the whole client). A failure without an answer is classified by package
netfail at the stage it happened: never connected, TLS handshake failed
(a port that does not speak TLS), certificate refused, silent, or cut
off mid-read. Its [Error.Err] is then a *netfail.Error, whose message
names the setting to check (netfail.Keys: target.<name>.url,
connect_timeout, timeout, ca_cert). A handshake failure, a refused
certificate and an unknown host are permanent (Kind Other): they are
not retried.

Every error of Do is, or wraps, an [*Error]: its [Kind] (NotFound,
Permission, Conflict, Validation, Transient, Other), the request, the
status, the server's message or the target's explanation, the target's
hint, per-field messages, and how many attempts were made. The
providers' own IsNotFound, IsTransient and the like are thin wrappers of
[IsNotFound], [IsTransient], …, and their APIError is an alias of Error.

[Client.ContentionSignals] counts the answers that mean "too much at
once": 429, 503, and a 500 the request marked. Apply reads it through
each provider to lower its concurrency when it rises.

# Caveats

Retry500 is a promise that the server stored nothing: Icinga also
answers 500 for a few invalid writes (a username over 254 characters,
§7), which are then retried in vain and counted as contention; the
targets keep such writes out of the plan.

Recover runs between attempts under the same context, and its own
requests go through the same client and policy; an error from it ends
the request with the transient failure, the object's fate unknown.

A request that is not Repeatable and has no Recover is sent once, even
when the failure happened before the server saw it (a refused
connection): the client cannot tell.

The waits between attempts hold no lock of the client's, but a caller
that retries under its own lock (Teamwire's login) holds it for them.

Go's http.Client is used as given: it must not follow redirects
([NoRedirect]), since for these APIs a redirect is a login page.
*/
package httpapi
