package main

import (
	"bytes"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// screen replays what a terminal shows for out: carriage returns, line
// feeds, erase-line sequences (CSI 2K, CSI K) and printable text; other
// escape sequences take no room. It returns the finished lines and the
// line the cursor is on.
func screen(out []byte) (lines []string, current string) {
	var cur []rune
	col := 0
	s := []rune(string(out))
	for i := 0; i < len(s); i++ {
		switch r := s[i]; {
		case r == '\r':
			col = 0
		case r == '\n':
			lines = append(lines, strings.TrimRight(string(cur), " "))
			cur, col = nil, 0
		case r == 0x1b && i+1 < len(s) && s[i+1] == '[':
			j := i + 2
			for j < len(s) && (s[j] < '@' || s[j] > '~') {
				j++
			}
			if j < len(s) && s[j] == 'K' {
				switch string(s[i+2 : j]) {
				case "2":
					cur = nil
				case "", "0":
					cur = cur[:min(col, len(cur))]
				}
			}
			i = j
		default:
			for len(cur) <= col {
				cur = append(cur, ' ')
			}
			cur[col] = r
			col++
		}
	}
	return lines, strings.TrimRight(string(cur), " ")
}

// TestConsoleKeepsLogLinesOutOfTheBar drives a progress bar and a logger
// from several goroutines through one console, as apply does on a
// terminal: every line the terminal shows is a whole log line, each
// once, and the bar is gone at the end.
func TestConsoleKeepsLogLinesOutOfTheBar(t *testing.T) {
	var out bytes.Buffer
	con := newConsole(&syncWriter{w: &out})
	log := slog.New(slog.NewTextHandler(con, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}))
	const total, loggers, each = 400, 4, 50
	bar := newProgress(con, "apply", "changes", total)
	if bar.bar == nil {
		t.Fatal("newProgress drew no bar on a console")
	}
	var wg sync.WaitGroup
	for g := range loggers {
		wg.Go(func() {
			for i := range each {
				log.Info(fmt.Sprintf("line %d-%d", g, i))
				time.Sleep(2 * time.Millisecond)
			}
		})
	}
	for i := 1; i <= total; i++ {
		bar.Set(i, total)
		time.Sleep(time.Millisecond)
	}
	wg.Wait()
	bar.Finish()
	log.Info("after the bar")

	if n := strings.Count(out.String(), "apply"); n < 3 {
		t.Fatalf("the bar was drawn %d times; the test needs it drawn between log lines", n)
	}
	lines, current := screen(out.Bytes())
	logLine := regexp.MustCompile(`^level=INFO msg="(line \d+-\d+|after the bar)"$`)
	seen := map[string]bool{}
	for _, l := range lines {
		if !logLine.MatchString(l) {
			t.Errorf("the terminal shows a line that is not a whole log line: %q", l)
		}
		if seen[l] {
			t.Errorf("log line shown twice: %q", l)
		}
		seen[l] = true
	}
	if len(seen) != loggers*each+1 {
		t.Errorf("the terminal shows %d log lines, want %d", len(seen), loggers*each+1)
	}
	if current != "" {
		t.Errorf("after Finish the cursor line shows %q, want it empty (the bar cleared)", current)
	}
}

// syncWriter serialises writes, as a terminal would see them.
type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
