package endpoint

import (
	"os"
	"path/filepath"
	"testing"
)

func TestResolve(t *testing.T) {
	file := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(file, []byte("from-file\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const key, ex = "target.x", "https://x.example.com/api"
	for _, tc := range []struct {
		url            string
		insecure       bool
		user, pw, file string
		want, wantPW   string
	}{
		{"", false, "u", "p", "", "target.x.url is required, e.g. https://x.example.com/api", ""},
		{"ftp://x", false, "u", "p", "", `target.x.url "ftp://x" is not an http(s) URL`, ""},
		{"https://x", false, "", "p", "", "target.x.username is required", ""},
		{"https://x", false, "u", "p", file, "target.x: set password or password_file, not both", ""},
		{"https://x", false, "u", "", file + ".missing", "target.x.password_file: open " + file + ".missing: no such file or directory", ""},
		{"https://x", false, "u", "", "", "target.x.password (or password_file) is required", ""},
		{"https://x", false, "u", "", file, "", "from-file"},
		{"http://x", true, "u", "inline", "", "", "inline"},
		{"http://u:p@x/api", false, "u", "inline", "", "target.x.url http://u:xxxxx@x/api is http://, so the password would travel in clear text; use https://, or set target.x.allow_insecure: true to accept that (a lab or a simulator only)", ""},
	} {
		pw := tc.pw
		err := Resolve(key, ex, tc.url, tc.insecure, tc.user, &pw, tc.file)
		if got := ""; err != nil {
			got = err.Error()
			if got != tc.want {
				t.Errorf("%+v: error %q, want %q", tc, got, tc.want)
			}
		} else if tc.want != "" || pw != tc.wantPW {
			t.Errorf("%+v: no error, password %q; want error %q, password %q", tc, pw, tc.want, tc.wantPW)
		}
	}
}
