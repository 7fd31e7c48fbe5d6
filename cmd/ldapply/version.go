package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/urfave/cli/v2"
)

// commit and commitTime are set by make (-ldflags -X) where the Go
// toolchain cannot read them from git itself (a git worktree, or
// -buildvcs=false).
var commit, commitTime string

// buildInfo is what `ldapply version` prints: the version set at build
// time, and the commit and Go version the Go toolchain records in the
// binary (go version -m shows the same).
type buildInfo struct {
	version, commit, commitTime, goVersion string
	modified                               bool
}

func readBuildInfo() buildInfo {
	b := buildInfo{version: version, commit: commit, commitTime: commitTime, goVersion: runtime.Version()}
	if b.commit == "" {
		b.commit = "unknown"
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	b.goVersion = info.GoVersion
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			b.commit = s.Value
		case "vcs.time":
			b.commitTime = s.Value
		case "vcs.modified":
			b.modified = s.Value == "true"
		}
	}
	return b
}

func cmdVersion(c *cli.Context) error {
	b := readBuildInfo()
	commit := b.commit
	if b.commitTime != "" {
		commit += " (" + b.commitTime + ")"
	}
	if b.modified {
		commit += ", with uncommitted changes"
	}
	_, err := fmt.Fprintf(c.App.Writer, "ldapply %s\ncommit %s\n%s %s/%s\n", b.version, commit, b.goVersion, runtime.GOOS, runtime.GOARCH)
	return err
}
