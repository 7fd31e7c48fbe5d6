package state

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
)

// TestWriteAdvice: a state write that failed because its file system is
// full or read-only says so and what to do; any other failure points at
// space and permissions.
func TestWriteAdvice(t *testing.T) {
	for errno, want := range map[error]string{
		syscall.ENOSPC:         "its file system is full; free space",
		syscall.EROFS:          "its file system is read-only; make it writable",
		syscall.EIO:            "check free space and permissions",
		errors.New("anything"): "check free space and permissions",
	} {
		err := &os.PathError{Op: "write", Path: "/var/lib/ldapply/state.db", Err: errno}
		// bbolt formats the cause of a failed resize into its text.
		flat := fmt.Errorf("file resize error: %s", &os.PathError{Op: "truncate", Path: "/var/lib/ldapply/state.db", Err: errno})
		for _, err := range []error{err, flat} {
			if got := writeAdvice(err); !strings.HasPrefix(got, want) {
				t.Errorf("writeAdvice(%v) = %q, want it to start %q", err, got, want)
			}
		}
	}
}
