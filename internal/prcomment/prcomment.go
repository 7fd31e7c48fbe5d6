// Package prcomment keeps ldapply's comment on a GitLab merge request or
// a GitHub pull request up to date, as tfcmt and Atlantis do: the
// comment begins with a hidden marker naming the configuration, each
// run edits the comment that carries it, and one is created only when
// there is none. A review thread then holds one plan per configuration,
// the latest, however often the pipeline runs.
package prcomment

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Comment is one comment of a thread.
type Comment struct {
	ID   int64
	Body string
}

// Thread is the comments of one merge or pull request.
type Thread interface {
	// Comments returns every comment people wrote (not the platform's
	// own notes), all pages of them.
	Comments(ctx context.Context) ([]Comment, error)
	Create(ctx context.Context, body string) error
	Update(ctx context.Context, id int64, body string) error
}

// Marker returns the hidden marker that names configuration name: an
// HTML comment, which GitLab and GitHub do not show.
func Marker(name string) (string, error) {
	if name == "" || strings.ContainsAny(name, "\n\r>") || strings.Contains(name, "--") {
		return "", fmt.Errorf("the comment's name %q cannot stand in an HTML comment: give one without line breaks, \">\" or \"--\"", name)
	}
	return "<!-- ldapply:" + name + " -->", nil
}

// Post puts body, which must begin with marker, in t: it edits the
// first comment that begins with marker, or creates one when none does,
// and reports whether it edited.
func Post(ctx context.Context, t Thread, marker, body string) (edited bool, err error) {
	if !strings.HasPrefix(body, marker) {
		return false, errors.New("prcomment: the body must begin with its marker")
	}
	comments, err := t.Comments(ctx)
	if err != nil {
		return false, err
	}
	for _, c := range comments {
		// The marker is the comment's whole first line.
		if rest, ok := strings.CutPrefix(c.Body, marker); ok && (rest == "" || rest[0] == '\n' || rest[0] == '\r') {
			return true, t.Update(ctx, c.ID, body)
		}
	}
	return false, t.Create(ctx, body)
}
