package prcomment

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// GitLabMaxChars is the longest note GitLab takes.
const GitLabMaxChars = 1_000_000

// GitLab is the notes of one merge request, through GitLab's REST API
// (v4): GET, POST and PUT /projects/:id/merge_requests/:iid/notes.
type GitLab struct {
	base string // …/projects/:id/merge_requests/:iid/notes
	c    *client
}

var _ Thread = (*GitLab)(nil)

// NewGitLab returns the notes of merge request iid of project (its
// number, or its path such as group/name) at api (CI_API_V4_URL,
// https://gitlab.example.com/api/v4), sent with token in PRIVATE-TOKEN;
// hc nil means a client with a minute's timeout.
func NewGitLab(api, project, iid, token string, hc *http.Client) *GitLab {
	base := strings.TrimSuffix(api, "/") + "/projects/" + url.PathEscape(project) + "/merge_requests/" + url.PathEscape(iid) + "/notes"
	hint := "check GITLAB_API_TOKEN: a project or personal access token with the api scope, of a member who may comment (CI_JOB_TOKEN cannot write notes)"
	return &GitLab{base: base, c: newClient("GitLab", hint, map[string]string{"PRIVATE-TOKEN": token}, hc)}
}

type gitLabNote struct {
	ID     int64  `json:"id"`
	Body   string `json:"body"`
	System bool   `json:"system"`
}

// Comments reads every page of notes, oldest first, following
// X-Next-Page (empty on the last page); system notes ("added 1
// commit") are left out.
func (g *GitLab) Comments(ctx context.Context) ([]Comment, error) {
	var out []Comment
	for page := "1"; page != ""; {
		var notes []gitLabNote
		h, err := g.c.do(ctx, http.MethodGet, g.base+"?sort=asc&order_by=created_at&per_page=100&page="+url.QueryEscape(page), nil, &notes)
		if err != nil {
			return nil, err
		}
		for _, n := range notes {
			if !n.System {
				out = append(out, Comment{ID: n.ID, Body: n.Body})
			}
		}
		next := h.Get("X-Next-Page")
		if next != "" {
			if _, err := strconv.Atoi(next); err != nil || next == page {
				return nil, fmt.Errorf("GET %s: GitLab's X-Next-Page %q after page %s is no next page", g.base, next, page)
			}
		}
		page = next
	}
	return out, nil
}

// Create adds a note.
func (g *GitLab) Create(ctx context.Context, body string) error {
	_, err := g.c.do(ctx, http.MethodPost, g.base, map[string]string{"body": body}, nil)
	return err
}

// Update replaces note id's body.
func (g *GitLab) Update(ctx context.Context, id int64, body string) error {
	_, err := g.c.do(ctx, http.MethodPut, g.base+"/"+strconv.FormatInt(id, 10), map[string]string{"body": body}, nil)
	return err
}
