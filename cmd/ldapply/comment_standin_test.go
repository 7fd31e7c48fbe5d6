package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The stand-ins below answer as GitLab's notes API and GitHub's issue
// comments API do, in what ldapply comment relies on: the paths, the
// token headers (401 otherwise), offset pagination with its headers and
// page-size limits, and the status codes of create and edit.

// note is a comment in a stand-in's thread.
type note struct {
	ID     int64  `json:"id"`
	Body   string `json:"body"`
	System bool   `json:"system,omitempty"`
}

// thread is a stand-in's comments, with a log of the requests made.
type thread struct {
	mu    sync.Mutex
	notes []note
	log   []string // "GET page=2", "POST", "PUT 131", ...
}

func (th *thread) add(body string, system bool) note {
	n := note{ID: int64(len(th.notes) + 1), Body: body, System: system}
	th.notes = append(th.notes, n)
	return n
}

func (th *thread) record(s string) {
	th.log = append(th.log, s)
}

// requests returns the log since the last call.
func (th *thread) requests() []string {
	th.mu.Lock()
	defer th.mu.Unlock()
	l := th.log
	th.log = nil
	return l
}

// withMarker returns the notes that begin with marker.
func (th *thread) withMarker(marker string) []note {
	th.mu.Lock()
	defer th.mu.Unlock()
	var out []note
	for _, n := range th.notes {
		if strings.HasPrefix(n.Body, marker+"\n") {
			out = append(out, n)
		}
	}
	return out
}

// page cuts notes to one page as both APIs do: page from 1, per_page
// up to 100 (def when absent or invalid).
func page(r *http.Request, notes []note, def int) (items []note, pg, per, pages int) {
	per, err := strconv.Atoi(r.URL.Query().Get("per_page"))
	if err != nil || per < 1 {
		per = def
	}
	per = min(per, 100)
	pg, err = strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || pg < 1 {
		pg = 1
	}
	pages = max(1, (len(notes)+per-1)/per)
	lo, hi := min((pg-1)*per, len(notes)), min(pg*per, len(notes))
	return notes[lo:hi], pg, per, pages
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// readBody reads the "body" parameter, as JSON or as a form.
func readBody(r *http.Request) (string, bool) {
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		var v struct {
			Body *string `json:"body"`
		}
		if json.NewDecoder(r.Body).Decode(&v) != nil || v.Body == nil {
			return "", false
		}
		return *v.Body, true
	}
	if r.ParseForm() != nil || !r.Form.Has("body") {
		return "", false
	}
	return r.Form.Get("body"), true
}

// gitLabStandIn serves /api/v4/projects/:id/merge_requests/:iid/notes
// for one project and merge request: PRIVATE-TOKEN or a bearer token,
// notes newest first unless sort=asc, 20 a page by default, X-Next-Page
// empty on the last page.
func gitLabStandIn(t *testing.T, project, iid, token string, th *thread) *httptest.Server {
	base := "/api/v4/projects/" + project + "/merge_requests/" + iid + "/notes"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		th.mu.Lock()
		defer th.mu.Unlock()
		if r.Header.Get("PRIVATE-TOKEN") != token && r.Header.Get("Authorization") != "Bearer "+token {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "401 Unauthorized"})
			return
		}
		rest, ok := strings.CutPrefix(r.URL.EscapedPath(), base)
		switch {
		case ok && rest == "" && r.Method == http.MethodGet:
			notes := append([]note(nil), th.notes...)
			if r.URL.Query().Get("sort") != "asc" {
				for i, j := 0, len(notes)-1; i < j; i, j = i+1, j-1 {
					notes[i], notes[j] = notes[j], notes[i]
				}
			}
			items, pg, per, pages := page(r, notes, 20)
			th.record("GET page=" + strconv.Itoa(pg))
			h := w.Header()
			h.Set("X-Page", strconv.Itoa(pg))
			h.Set("X-Per-Page", strconv.Itoa(per))
			h.Set("X-Total", strconv.Itoa(len(notes)))
			h.Set("X-Total-Pages", strconv.Itoa(pages))
			h.Set("X-Next-Page", "")
			if pg < pages {
				h.Set("X-Next-Page", strconv.Itoa(pg+1))
			}
			writeJSON(w, http.StatusOK, items)
		case ok && rest == "" && r.Method == http.MethodPost:
			body, ok := readBody(r)
			if !ok {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body is missing"})
				return
			}
			th.record("POST")
			writeJSON(w, http.StatusCreated, th.add(body, false))
		case ok && strings.HasPrefix(rest, "/") && r.Method == http.MethodPut:
			id, _ := strconv.ParseInt(rest[1:], 10, 64)
			body, ok := readBody(r)
			if !ok {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body is missing"})
				return
			}
			for i := range th.notes {
				if th.notes[i].ID == id && !th.notes[i].System {
					th.notes[i].Body = body
					th.record("PUT " + rest[1:])
					writeJSON(w, http.StatusOK, th.notes[i])
					return
				}
			}
			writeJSON(w, http.StatusNotFound, map[string]string{"message": "404 Not found"})
		default:
			writeJSON(w, http.StatusNotFound, map[string]string{"message": "404 Not found"})
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// gitHubStandIn serves /repos/{repo}/issues/{number}/comments (GET,
// POST) and /repos/{repo}/issues/comments/{id} (PATCH): a bearer or
// "token" Authorization, comments oldest first, 30 a page by default,
// a Link header naming the next and last pages while there are more.
func gitHubStandIn(t *testing.T, repo, number, token string, th *thread) *httptest.Server {
	list := "/repos/" + repo + "/issues/" + number + "/comments"
	one := "/repos/" + repo + "/issues/comments/"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		th.mu.Lock()
		defer th.mu.Unlock()
		if a := r.Header.Get("Authorization"); a != "Bearer "+token && a != "token "+token {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "Bad credentials"})
			return
		}
		switch {
		case r.URL.Path == list && r.Method == http.MethodGet:
			items, pg, per, pages := page(r, th.notes, 30)
			th.record("GET page=" + strconv.Itoa(pg))
			if pg < pages {
				link := func(p int) string {
					q := url.Values{"per_page": {strconv.Itoa(per)}, "page": {strconv.Itoa(p)}}
					return "http://" + r.Host + list + "?" + q.Encode()
				}
				w.Header().Set("Link", fmt.Sprintf(`<%s>; rel="next", <%s>; rel="last"`, link(pg+1), link(pages)))
			}
			out := make([]note, len(items))
			for i, n := range items {
				out[i] = note{ID: n.ID, Body: n.Body}
			}
			writeJSON(w, http.StatusOK, out)
		case r.URL.Path == list && r.Method == http.MethodPost:
			body, ok := readBody(r)
			if !ok || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
				writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"message": "Invalid request.\n\n\"body\" wasn't supplied."})
				return
			}
			th.record("POST")
			writeJSON(w, http.StatusCreated, th.add(body, false))
		case strings.HasPrefix(r.URL.Path, one) && r.Method == http.MethodPatch:
			id, _ := strconv.ParseInt(strings.TrimPrefix(r.URL.Path, one), 10, 64)
			body, ok := readBody(r)
			if !ok {
				writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"message": "Invalid request."})
				return
			}
			for i := range th.notes {
				if th.notes[i].ID == id {
					th.notes[i].Body = body
					th.record("PATCH " + strconv.FormatInt(id, 10))
					writeJSON(w, http.StatusOK, th.notes[i])
					return
				}
			}
			writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
		default:
			writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}
