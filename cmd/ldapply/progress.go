package main

import (
	"bytes"
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
	con     *console // owns the terminal the bar is drawn on
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
		con, ok := w.(*console)
		if !ok {
			con = newConsole(w)
		}
		p.con = con
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(con.barWriter()),
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
		p.con.barGone()
		return
	}
	if p.printed {
		p.line()
	}
}

// console owns a terminal that log lines and a progress bar share: a log
// line clears the bar's line, is written, and the bar is drawn again
// below it, so that no log line ever lands inside a bar line and the bar
// stays the last line. Main puts one in front of stderr when stderr is a
// terminal. It is safe for concurrent use.
type console struct {
	mu  sync.Mutex
	out io.Writer
	bar []byte // the bar as last drawn, without its leading \r; empty when none is shown
}

func newConsole(out io.Writer) *console { return &console{out: out} }

// Write writes whole log lines (a slog handler writes one record per
// call) above the bar.
func (c *console) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.bar) == 0 {
		return c.out.Write(p)
	}
	// Clear the bar's line, write the line there, draw the bar below.
	buf := make([]byte, 0, len(clearLine)+len(p)+1+len(c.bar))
	buf = append(append(buf, clearLine...), p...)
	if !bytes.HasSuffix(p, []byte("\n")) {
		buf = append(buf, '\n')
	}
	if _, err := c.out.Write(append(buf, c.bar...)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// clearLine moves to the start of the line and erases it.
const clearLine = "\r\x1b[2K"

// barWriter is the writer a progress bar draws with: each write redraws
// (or clears) the bar's line, which the console remembers.
func (c *console) barWriter() io.Writer { return barWriter{c} }

// barGone tells the console that no bar is shown any more.
func (c *console) barGone() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.bar = nil
}

type barWriter struct{ c *console }

func (b barWriter) Write(p []byte) (int, error) {
	b.c.mu.Lock()
	defer b.c.mu.Unlock()
	// What follows the last carriage return is what the line shows now:
	// the bar, or blanks (or nothing) when the bar was cleared.
	shown := p[bytes.LastIndexByte(p, '\r')+1:]
	if len(bytes.TrimSpace(shown)) == 0 || bytes.ContainsRune(shown, '\n') {
		b.c.bar = nil
	} else {
		b.c.bar = append(b.c.bar[:0], shown...)
	}
	return b.c.out.Write(p)
}

// isTerminal reports whether w is a terminal (or the console that owns
// one).
func isTerminal(w io.Writer) bool {
	if _, ok := w.(*console); ok {
		return true
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
