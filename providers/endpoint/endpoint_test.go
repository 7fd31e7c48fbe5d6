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
		url, user, pw, file string
		want, wantPW        string
	}{
		{"", "u", "p", "", "target.x.url is required, e.g. https://x.example.com/api", ""},
		{"ftp://x", "u", "p", "", `target.x.url "ftp://x" is not an http(s) URL`, ""},
		{"https://x", "", "p", "", "target.x.username is required", ""},
		{"https://x", "u", "p", file, "target.x: set password or password_file, not both", ""},
		{"https://x", "u", "", file + ".missing", "target.x.password_file: open " + file + ".missing: no such file or directory", ""},
		{"https://x", "u", "", "", "target.x.password (or password_file) is required", ""},
		{"https://x", "u", "", file, "", "from-file"},
		{"http://x", "u", "inline", "", "", "inline"},
	} {
		pw := tc.pw
		err := Resolve(key, ex, tc.url, tc.user, &pw, tc.file)
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
