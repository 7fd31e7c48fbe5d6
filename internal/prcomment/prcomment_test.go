package prcomment_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ldapply/ldapply/internal/prcomment"
)

// fakeThread records what Post does.
type fakeThread struct {
	comments []prcomment.Comment
	created  []string
	updated  map[int64]string
}

func (f *fakeThread) Comments(context.Context) ([]prcomment.Comment, error) { return f.comments, nil }
func (f *fakeThread) Create(_ context.Context, body string) error {
	f.created = append(f.created, body)
	return nil
}
func (f *fakeThread) Update(_ context.Context, id int64, body string) error {
	f.updated[id] = body
	return nil
}

// TestPost: the comment whose first line is the marker is edited; a
// marker of another name, one quoted further down, or one with more on
// its line is not it.
func TestPost(t *testing.T) {
	marker, err := prcomment.Marker("prod")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeThread{updated: map[int64]string{}, comments: []prcomment.Comment{
		{ID: 1, Body: "<!-- ldapply:prod-eu -->\nthe other plan"},
		{ID: 2, Body: "as the bot said:\n<!-- ldapply:prod -->\nold"},
		{ID: 3, Body: "<!-- ldapply:prod --> and a reply on its line"},
		{ID: 4, Body: "<!-- ldapply:prod -->\r\nold plan"},
	}}
	edited, err := prcomment.Post(context.Background(), f, marker, marker+"\nnew plan")
	if err != nil || !edited || len(f.updated) != 1 || f.updated[4] != marker+"\nnew plan" || len(f.created) != 0 {
		t.Errorf("edited %t, err %v, updated %v, created %q; want comment 4 edited", edited, err, f.updated, f.created)
	}
	f.comments = f.comments[:3]
	if edited, err := prcomment.Post(context.Background(), f, marker, marker+"\nnew plan"); err != nil || edited || len(f.created) != 1 {
		t.Errorf("without the comment: edited %t, err %v, created %q; want one created", edited, err, f.created)
	}
	for _, bad := range []string{"", "a-->b", "a\nb", "x>"} {
		if _, err := prcomment.Marker(bad); err == nil {
			t.Errorf("the name %q was taken into an HTML comment", bad)
		}
	}
}

// TestGitHubNextPageElsewhere: a Link to another host is not followed,
// so the token goes nowhere else.
func TestGitHubNextPageElsewhere(t *testing.T) {
	var elsewhere bool
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere = true }))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", `<`+other.URL+`/repos/a/b/issues/1/comments?page=2>; rel="next"`)
		w.Write([]byte(`[{"id":1,"body":"hi"}]`))
	}))
	defer srv.Close()
	_, err := prcomment.NewGitHub(srv.URL, "a/b", "1", "secret", nil).Comments(context.Background())
	if err == nil || !strings.Contains(err.Error(), "not followed") || elsewhere || strings.Contains(err.Error(), "secret") {
		t.Errorf("err %v, the other host asked: %t", err, elsewhere)
	}
}
