package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
)

// progress shows how far a long operation got: a bar with counts and rate
// on a terminal, one plain line every few seconds otherwise (CI logs).
// Its methods are safe for concurrent use; a nil *progress does nothing.
type progress struct {
	mu      sync.Mutex
	bar     *progressbar.ProgressBar
	w       io.Writer
	label   string
	unit    string
	total   int // -1: unknown
	done    int
	start   time.Time
	last    time.Time
	every   time.Duration
	printed bool
}

// plainProgressEvery is the interval of plain progress lines.
const plainProgressEvery = 5 * time.Second

// newProgress shows progress of total units (-1 when unknown, as for a
// directory read) labelled label.
func newProgress(w io.Writer, label, unit string, total int) *progress {
	p := &progress{w: w, label: label, unit: unit, total: total, start: time.Now(), last: time.Now(), every: plainProgressEvery}
	if isTerminal(w) {
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(label),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString(unit),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionEnableColorCodes(colorOK(w, nil)),
		)
	}
	return p
}

// Set records that done of total are finished (total is ignored; it is
// there to fit apply.Options.Progress).
func (p *progress) Set(done, total int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done = done
	if p.bar != nil {
		p.bar.Set(done)
		return
	}
	if now := time.Now(); now.Sub(p.last) >= p.every {
		p.last = now
		p.line()
	}
}

func (p *progress) line() {
	el := time.Since(p.start).Seconds()
	rate := 0.0
	if el > 0 {
		rate = float64(p.done) / el
	}
	if p.total < 0 {
		fmt.Fprintf(p.w, "%s: %d %s (%.0f/s)\n", p.label, p.done, p.unit, rate)
	} else {
		fmt.Fprintf(p.w, "%s: %d/%d %s done (%.0f/s)\n", p.label, p.done, p.total, p.unit, rate)
	}
	p.printed = true
}

// Finish ends the bar; in plain mode it prints a last line only if
// progress lines were printed before.
func (p *progress) Finish() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		p.bar.Finish()
		return
	}
	if p.printed {
		p.line()
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
