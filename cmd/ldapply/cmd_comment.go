package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/urfave/cli/v2"

	"github.com/ldapply/ldapply/internal/prcomment"
)

// commentCommand is ldapply comment. It is made anew for every app, as
// the commands in newApp are: urfave/cli adds its help flag to a
// command the first time it runs.
func commentCommand() *cli.Command {
	return &cli.Command{
		Name:      "comment",
		Usage:     "post a rendered plan to the merge request (GitLab CI) or pull request (GitHub Actions) the pipeline runs for, editing ldapply's earlier comment for the same configuration",
		UsageText: "ldapply comment [--config FILE] [--name NAME] MARKDOWNFILE\n\nExample:\n   ldapply show --markdown sync.plan > plan.md && ldapply comment plan.md",
		Flags: []cli.Flag{
			configFlag(),
			&cli.StringFlag{Name: "name", EnvVars: []string{"LDAPPLY_COMMENT_NAME"}, Usage: "the `NAME` in the comment's hidden marker <!-- ldapply:NAME --> (default: the configuration file's name without its extension)"},
		},
		Action: cmdComment,
	}
}

// cmdComment puts a Markdown file in the review thread of the merge or
// pull request the CI job runs for: the platform and the thread come
// from the variables GitLab CI and GitHub Actions set.
func cmdComment(c *cli.Context) error {
	if c.NArg() != 1 {
		return errors.New("comment needs exactly one argument, the Markdown file: ldapply comment plan.md")
	}
	name := c.String("name")
	if name == "" {
		base := filepath.Base(c.String("config"))
		name = strings.TrimSuffix(base, filepath.Ext(base))
	}
	marker, err := prcomment.Marker(name)
	if err != nil {
		return err
	}
	md, err := os.ReadFile(c.Args().First())
	if err != nil {
		return fmt.Errorf("comment: %w", err)
	}
	thread, limit, skip, err := commentThread(os.Getenv)
	if err != nil || skip != "" {
		if skip != "" {
			fmt.Fprintf(c.App.ErrWriter, "ldapply comment: %s; nothing posted.\n", skip)
		}
		return err
	}
	body := marker + "\n" + string(md)
	if n := utf8.RuneCountInString(body); n > limit {
		return fmt.Errorf("comment: %s with its marker is %d characters, more than the %d a comment may have here: render it with ldapply show --markdown --max-chars %d", c.Args().First(), n, limit, limit-utf8.RuneCountInString(marker)-1)
	}
	edited, err := prcomment.Post(c.Context, thread, marker, body)
	if err != nil {
		return fmt.Errorf("comment: %w", err)
	}
	verb := "added a comment"
	if edited {
		verb = "edited its comment"
	}
	fmt.Fprintf(c.App.Writer, "ldapply comment: %s %s.\n", verb, marker)
	return nil
}

// commentThread returns the thread of the merge or pull request the CI
// job runs for and the longest comment it takes; or, for a job that
// runs for none (a push), why nothing is to be posted.
func commentThread(getenv func(string) string) (t prcomment.Thread, limit int, skip string, err error) {
	need := func(names ...string) error {
		for _, n := range names {
			if getenv(n) == "" {
				return fmt.Errorf("comment: %s is not set: run comment in the CI job, and give it the variables its step in examples/ sets", n)
			}
		}
		return nil
	}
	switch {
	case getenv("GITLAB_CI") == "true":
		iid := getenv("CI_MERGE_REQUEST_IID")
		if iid == "" {
			return nil, 0, "this pipeline runs for no merge request (CI_MERGE_REQUEST_IID is not set)", nil
		}
		if err := need("CI_API_V4_URL", "CI_PROJECT_ID", "GITLAB_API_TOKEN"); err != nil {
			return nil, 0, "", err
		}
		return prcomment.NewGitLab(getenv("CI_API_V4_URL"), getenv("CI_PROJECT_ID"), iid, getenv("GITLAB_API_TOKEN"), nil), prcomment.GitLabMaxChars, "", nil
	case getenv("GITHUB_ACTIONS") == "true":
		if err := need("GITHUB_REPOSITORY", "GITHUB_EVENT_PATH"); err != nil {
			return nil, 0, "", err
		}
		number, err := pullRequestNumber(getenv("GITHUB_EVENT_PATH"))
		if err != nil {
			return nil, 0, "", err
		}
		if number == 0 {
			return nil, 0, "this workflow runs for no pull request (its event has no pull_request)", nil
		}
		if err := need("GITHUB_TOKEN"); err != nil {
			return nil, 0, "", err
		}
		api := getenv("GITHUB_API_URL")
		if api == "" {
			api = "https://api.github.com"
		}
		return prcomment.NewGitHub(api, getenv("GITHUB_REPOSITORY"), strconv.Itoa(number), getenv("GITHUB_TOKEN"), nil), prcomment.GitHubMaxChars, "", nil
	}
	return nil, 0, "", errors.New("comment posts from GitLab CI or GitHub Actions, and neither GITLAB_CI nor GITHUB_ACTIONS is true here")
}

// pullRequestNumber reads the pull request's number from the event
// that started a GitHub Actions run (GITHUB_EVENT_PATH); 0 when the
// event has none.
func pullRequestNumber(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("comment: read the workflow's event: %w", err)
	}
	var ev struct {
		PullRequest struct {
			Number int `json:"number"`
		} `json:"pull_request"`
	}
	if err := json.Unmarshal(b, &ev); err != nil {
		return 0, fmt.Errorf("comment: the workflow's event %s is not JSON: %w", path, err)
	}
	return ev.PullRequest.Number, nil
}
