package prcomment

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// GitHubMaxChars is the longest comment GitHub takes.
const GitHubMaxChars = 65_536

// GitHub is the comments of one pull request, through GitHub's REST
// API: a pull request's conversation is its issue's comments, GET and
// POST /repos/{owner}/{repo}/issues/{number}/comments and PATCH
// /repos/{owner}/{repo}/issues/comments/{id}.
type GitHub struct {
	repo string // …/repos/{owner}/{repo}
	pr   string
	c    *client
}

var _ Thread = (*GitHub)(nil)

// NewGitHub returns the comments of pull request number of repo
// ("owner/name") at api (GITHUB_API_URL, https://api.github.com), sent
// with token as a bearer token; hc nil means a client with a minute's
// timeout.
func NewGitHub(api, repo, number, token string, hc *http.Client) *GitHub {
	hint := "check GITHUB_TOKEN and that the job may write comments (permissions: pull-requests: write)"
	return &GitHub{
		repo: strings.TrimSuffix(api, "/") + "/repos/" + repo,
		pr:   number,
		c: newClient("GitHub", hint, map[string]string{
			"Authorization":        "Bearer " + token,
			"Accept":               "application/vnd.github+json",
			"X-GitHub-Api-Version": "2022-11-28",
			"User-Agent":           "ldapply",
		}, hc),
	}
}

type gitHubComment struct {
	ID   int64  `json:"id"`
	Body string `json:"body"`
}

var linkNext = regexp.MustCompile(`<([^>]+)>;\s*rel="next"`)

// Comments reads every page of comments, oldest first, following the
// Link header's rel="next".
func (g *GitHub) Comments(ctx context.Context) ([]Comment, error) {
	var out []Comment
	u := g.repo + "/issues/" + url.PathEscape(g.pr) + "/comments?per_page=100"
	for u != "" {
		var page []gitHubComment
		h, err := g.c.do(ctx, http.MethodGet, u, nil, &page)
		if err != nil {
			return nil, err
		}
		for _, c := range page {
			out = append(out, Comment{ID: c.ID, Body: c.Body})
		}
		next := ""
		if m := linkNext.FindStringSubmatch(h.Get("Link")); m != nil {
			next = m[1]
			if !sameOrigin(g.repo, next) || next == u {
				return nil, fmt.Errorf("GET %s: GitHub's next page %q is not on %s: not followed", redact(u), redact(next), g.repo)
			}
		}
		u = next
	}
	return out, nil
}

// Create adds a comment.
func (g *GitHub) Create(ctx context.Context, body string) error {
	_, err := g.c.do(ctx, http.MethodPost, g.repo+"/issues/"+url.PathEscape(g.pr)+"/comments", map[string]string{"body": body}, nil)
	return err
}

// Update replaces comment id's body.
func (g *GitHub) Update(ctx context.Context, id int64, body string) error {
	_, err := g.c.do(ctx, http.MethodPatch, g.repo+"/issues/comments/"+strconv.FormatInt(id, 10), map[string]string{"body": body}, nil)
	return err
}
