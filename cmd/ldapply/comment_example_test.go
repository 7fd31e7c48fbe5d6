package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// exampleStep is the comment step of a CI example: its shell script
// and the variables the example gives it.
type exampleStep struct {
	script string
	env    map[string]string
}

// gitLabCommentStep returns the plan job's script line that runs
// ldapply comment, with the pipeline's and the job's variables.
func gitLabCommentStep(t *testing.T, path string) exampleStep {
	t.Helper()
	return gitLabPlanJob(t, path, "ldapply comment")
}

// gitLabPlanJob returns the plan job's script lines that contain with
// ("": all of them, one script, as the runner joins them), with the
// pipeline's and the job's variables.
func gitLabPlanJob(t *testing.T, path, with string) exampleStep {
	t.Helper()
	var doc struct {
		Variables map[string]string `yaml:"variables"`
		Plan      struct {
			Variables map[string]string `yaml:"variables"`
			Script    []string          `yaml:"script"`
		} `yaml:"plan"`
	}
	readYAML(t, path, &doc)
	step := exampleStep{env: map[string]string{}}
	for k, v := range doc.Variables {
		step.env[k] = v
	}
	for k, v := range doc.Plan.Variables {
		step.env[k] = v
	}
	var lines []string
	for _, line := range doc.Plan.Script {
		if strings.Contains(line, with) {
			lines = append(lines, line)
		}
	}
	if len(lines) == 0 {
		t.Fatalf("%s: the plan job has no script line with %q", path, with)
	}
	step.script = strings.Join(lines, "\n")
	return step
}

// gitHubCommentStep returns the plan job's step that runs ldapply
// comment, with the workflow's and the step's env; expressions are
// replaced by what Actions would put there (github.token by token).
func gitHubCommentStep(t *testing.T, path, token string) exampleStep {
	t.Helper()
	var doc struct {
		Env  map[string]string `yaml:"env"`
		Jobs struct {
			Plan struct {
				Env   map[string]string `yaml:"env"`
				Steps []struct {
					If  string            `yaml:"if"`
					Run string            `yaml:"run"`
					Env map[string]string `yaml:"env"`
				} `yaml:"steps"`
			} `yaml:"plan"`
		} `yaml:"jobs"`
	}
	readYAML(t, path, &doc)
	step := exampleStep{env: map[string]string{}}
	expr := regexp.MustCompile(`\$\{\{\s*([^}]*?)\s*\}\}`)
	set := func(m map[string]string) {
		for k, v := range m {
			step.env[k] = expr.ReplaceAllStringFunc(v, func(e string) string {
				if expr.FindStringSubmatch(e)[1] == "github.token" {
					return token
				}
				return "unused-in-this-step"
			})
		}
	}
	set(doc.Env)
	set(doc.Jobs.Plan.Env)
	for _, s := range doc.Jobs.Plan.Steps {
		if strings.Contains(s.Run, "ldapply comment") {
			if s.If != "github.event_name == 'pull_request'" {
				t.Errorf("%s: the comment step runs if %q, want only on pull requests", path, s.If)
			}
			step.script = s.Run
			set(s.Env)
		}
	}
	if step.script == "" {
		t.Fatalf("%s: the plan job has no step running ldapply comment", path)
	}
	return step
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// runStep runs step's script with bash in dir, as the CI runner would,
// with ldapply on PATH (this test binary, through TestMain) and env
// (the platform's variables) on top of the step's own.
func runStep(t *testing.T, step exampleStep, dir string, env map[string]string) string {
	t.Helper()
	out, err := stepCommand(t, step, dir, env).CombinedOutput()
	if err != nil {
		t.Fatalf("the step failed: %v\n%s\nscript:\n%s", err, out, step.script)
	}
	return string(out)
}

// stepCommand returns the command that runs step's script with bash in
// dir, as the CI runner would (set -e, pipefail), with ldapply on PATH
// (this test binary, through TestMain) and env (the platform's
// variables) over the step's own.
func stepCommand(t *testing.T, step exampleStep, dir string, env map[string]string) *exec.Cmd {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	wrapper := "#!/bin/sh\nLDAPPLY_TEST_RUN_MAIN=1 exec '" + os.Args[0] + "' \"$@\"\n"
	if err := os.WriteFile(filepath.Join(bin, "ldapply"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "-e", "-o", "pipefail", "-c", step.script)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + bin + ":/usr/local/bin:/usr/bin:/bin", "HOME=" + dir}
	for k, v := range step.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	for k, v := range env { // later values win, as pipeline variables win over the job's
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	return cmd
}

// TestExampleCommentSteps runs the comment step of each CI example
// against a stand-in of its platform's API, twice: the first run adds
// the plan's comment, the second edits that comment (found on the
// thread's second page, behind 130 others) and adds none.
func TestExampleCommentSteps(t *testing.T) {
	const token = "t0ken-Secret"
	marker := "<!-- ldapply:ldapply -->" // from LDAPPLY_CONFIG=ldapply.yaml
	for _, tc := range []struct {
		example string
		gitlab  bool
	}{
		{"gitlab-ci.yml", true},
		{"ci/gitlab-ci-postgres.yml", true},
		{"github-actions.yml", false},
		{"ci/github-actions-postgres.yml", false},
	} {
		t.Run(tc.example, func(t *testing.T) {
			path := filepath.Join("..", "..", "examples", tc.example)
			th := &thread{}
			for i := range 130 {
				th.add("a reviewer's comment "+string(rune('a'+i%26)), tc.gitlab && i%3 == 0)
			}
			th.add("<!-- ldapply:staging -->\nanother configuration's plan", false)
			dir := t.TempDir()
			var step exampleStep
			var env map[string]string
			if tc.gitlab {
				step = gitLabCommentStep(t, path)
				srv := gitLabStandIn(t, "42", "7", token, th)
				env = map[string]string{"GITLAB_CI": "true", "CI_API_V4_URL": srv.URL + "/api/v4", "CI_PROJECT_ID": "42",
					"CI_MERGE_REQUEST_IID": "7", "GITLAB_API_TOKEN": token}
			} else {
				step = gitHubCommentStep(t, path, token)
				srv := gitHubStandIn(t, "acme/directory", "7", token, th)
				event := filepath.Join(dir, "event.json")
				os.WriteFile(event, []byte(`{"action":"synchronize","number":7,"pull_request":{"number":7}}`), 0o644)
				env = map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_API_URL": srv.URL, "GITHUB_REPOSITORY": "acme/directory",
					"GITHUB_EVENT_PATH": event}
			}
			for run, plan := range []string{"**Plan: 1 to add, 0 to change, 0 to rename, 0 to destroy.**\n", "**Plan: 2 to add, 0 to change, 0 to rename, 0 to destroy.**\n"} {
				if err := os.WriteFile(filepath.Join(dir, "plan.md"), []byte(plan), 0o644); err != nil {
					t.Fatal(err)
				}
				out := runStep(t, step, dir, env)
				if strings.Contains(out, token) {
					t.Errorf("run %d printed the token: %s", run+1, out)
				}
				reqs := th.requests()
				writes := slices.DeleteFunc(slices.Clone(reqs), func(r string) bool { return strings.HasPrefix(r, "GET") })
				mine := th.withMarker(marker)
				if len(mine) != 1 || mine[0].Body != marker+"\n"+plan {
					t.Fatalf("run %d: the comments with the marker are %s, want one with the plan", run+1, fmt.Sprint(mine))
				}
				want := "POST"
				if run == 1 {
					want = map[bool]string{true: "PUT ", false: "PATCH "}[tc.gitlab] + itoa64(mine[0].ID)
				}
				if !slices.Equal(writes, []string{want}) || !slices.Contains(reqs, "GET page=2") {
					t.Errorf("run %d made the requests %q, want every page read and then %q", run+1, reqs, want)
				}
			}
			if others := th.withMarker("<!-- ldapply:staging -->"); len(others) != 1 || !strings.HasSuffix(others[0].Body, "another configuration's plan") {
				t.Errorf("another configuration's comment was changed: %v", others)
			}
		})
	}
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

// TestCommentRefusals: comment says what to fix when the token is
// refused (never printing it), posts nothing for a pipeline that runs
// for no merge request, refuses a body over GitHub's limit before
// sending it, and refuses to run outside CI.
func TestCommentRefusals(t *testing.T) {
	dir := t.TempDir()
	md := filepath.Join(dir, "plan.md")
	os.WriteFile(md, []byte("**Plan: 1 to add.**\n"), 0o644)
	th := &thread{}
	srv := gitLabStandIn(t, "42", "7", "right", th)
	gitlab := map[string]string{"GITLAB_CI": "true", "CI_API_V4_URL": srv.URL + "/api/v4", "CI_PROJECT_ID": "42", "CI_MERGE_REQUEST_IID": "7", "GITLAB_API_TOKEN": "wr0ng-s3cret"}
	for _, tc := range []struct {
		name   string
		env    map[string]string
		file   string
		code   int
		stderr string
	}{
		{"wrong token", gitlab, md, 1, "GitLab answered 401 Unauthorized to GET " + srv.URL + "/api/v4/projects/42/merge_requests/7/notes: check GITLAB_API_TOKEN"},
		{"no merge request", map[string]string{"GITLAB_CI": "true"}, md, 0, "this pipeline runs for no merge request (CI_MERGE_REQUEST_IID is not set); nothing posted."},
		{"outside CI", map[string]string{}, md, 1, "neither GITLAB_CI nor GITHUB_ACTIONS is true here"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"GITLAB_CI", "GITHUB_ACTIONS", "CI_MERGE_REQUEST_IID", "CI_API_V4_URL", "CI_PROJECT_ID", "GITLAB_API_TOKEN"} {
				t.Setenv(k, tc.env[k])
			}
			var out, errb strings.Builder
			code := Main([]string{"ldapply", "comment", tc.file}, &out, &errb)
			if code != tc.code || !strings.Contains(errb.String(), tc.stderr) || strings.Contains(errb.String(), "s3cret") {
				t.Errorf("exit %d, stderr %q; want %d and %q, without the token", code, errb.String(), tc.code, tc.stderr)
			}
		})
	}
	if reqs := th.requests(); len(reqs) != 0 {
		t.Errorf("the refused runs made %q", reqs)
	}
	big := filepath.Join(dir, "big.md")
	os.WriteFile(big, []byte(strings.Repeat("x", 70_000)), 0o644)
	event := filepath.Join(dir, "event.json")
	os.WriteFile(event, []byte(`{"pull_request":{"number":7}}`), 0o644)
	for k, v := range map[string]string{"GITLAB_CI": "", "GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "acme/directory", "GITHUB_EVENT_PATH": event, "GITHUB_TOKEN": "x", "GITHUB_API_URL": "http://127.0.0.1:1"} {
		t.Setenv(k, v)
	}
	var out, errb strings.Builder
	if code := Main([]string{"ldapply", "comment", big}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "more than the 65536 a comment may have here: render it with ldapply show --markdown --max-chars 65511") {
		t.Errorf("a 70,000-character comment for GitHub: exit %d, %s", code, errb.String())
	}
}
