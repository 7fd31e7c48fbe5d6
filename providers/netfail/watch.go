package netfail

import (
	"fmt"
	"sync"
	"time"
)

// DefaultEvery is how often a waiting exchange is reported.
const DefaultEvery = 10 * time.Second

// Watch reports an exchange that is waiting: report runs after half an
// interval of silence, then every interval, with how long the exchange
// has waited since it began or since its last [Watch.Touch]. The first
// report comes early so that it precedes a timeout equal to the
// interval (the LDAP source's 10s). A Watch costs one timer, so every
// request can have one.
type Watch struct {
	mu      sync.Mutex
	every   time.Duration
	since   time.Time
	timer   *time.Timer
	stopped bool
	report  func(waited time.Duration)
}

// NewWatch starts a watch; every <= 0 means DefaultEvery. Stop must be
// called when the exchange ends.
func NewWatch(every time.Duration, report func(waited time.Duration)) *Watch {
	if every <= 0 {
		every = DefaultEvery
	}
	w := &Watch{every: every, since: time.Now(), report: report}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.timer = time.AfterFunc(every/2, w.fire)
	return w
}

func (w *Watch) fire() {
	w.mu.Lock()
	if w.stopped {
		w.mu.Unlock()
		return
	}
	waited := time.Since(w.since)
	w.timer.Reset(w.every)
	w.mu.Unlock()
	w.report(waited)
}

// Touch says the exchange made progress (a stage ended, data arrived):
// the silence is counted again from now.
func (w *Watch) Touch() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.stopped {
		w.since = time.Now()
		w.timer.Reset(w.every / 2)
	}
}

// Stop ends the watch; no report starts after it returns.
func (w *Watch) Stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
	w.timer.Stop()
}

// Seconds renders a wait as the reports show it: "20 s" (under a second,
// as a duration: "250ms").
func Seconds(d time.Duration) string {
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return fmt.Sprintf("%d s", int64(d.Round(time.Second)/time.Second))
}
