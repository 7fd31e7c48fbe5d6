package apply_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/ldapply/ldapply/apply"
	"github.com/ldapply/ldapply/plan"
)

// outcomes is an apply.Observer that keeps what it is told, and checks
// that each change is recorded before Run counts it.
type outcomes struct {
	got      map[string]string // change name -> result
	order    []string
	finished *int // Run's progress count when Observe was called
	early    []string
}

func (o *outcomes) Observe(oc *apply.Outcome) {
	name := oc.Change.Name()
	if _, dup := o.got[name]; dup {
		o.early = append(o.early, "twice: "+name)
	}
	o.got[name] = oc.Result
	if oc.Result == apply.Failed && oc.Err == nil {
		o.early = append(o.early, "failed without an error: "+name)
	}
	if oc.Time.IsZero() {
		o.early = append(o.early, "no time: "+name)
	}
	o.order = append(o.order, name)
	if oc.Result != apply.Skipped && *o.finished != len(o.order)-1 {
		o.early = append(o.early, fmt.Sprintf("%s observed after Run counted it (%d counted, %d observed)", name, *o.finished, len(o.order)))
	}
}

// TestRunObservesEveryChange: the Observer hears of every change exactly
// once, applied, failed or skipped, before Run counts it.
func TestRunObservesEveryChange(t *testing.T) {
	var cs []plan.Change
	for i := range 30 {
		cs = append(cs, ch(plan.Create, plan.KindUser, fmt.Sprintf("u%d", i)))
	}
	cs = append(cs, ch(plan.Update, plan.KindGroup, "ops"), ch(plan.Delete, plan.KindUser, "gone"))
	tg := &fakeTarget{fail: map[string]error{"u3": errors.New("HTTP 500"), "u7": errors.New("HTTP 500")}}
	finished := 0
	obs := &outcomes{got: map[string]string{}, finished: &finished}
	ctx, cancel := context.WithCancel(context.Background())
	res, err := apply.Run(ctx, &plan.Plan{Changes: cs}, tg, &fakeRecorder{}, apply.Options{Parallelism: 1, Observer: obs,
		Progress: func(done, total int) {
			finished = done
			if done == 20 {
				cancel()
			}
		}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if len(obs.early) > 0 {
		t.Errorf("observer: %s", strings.Join(obs.early, "; "))
	}
	count := map[string]int{}
	for _, r := range obs.got {
		count[r]++
	}
	// The cancel lands once 20 changes finished; those already started
	// by then finish too. Whatever Run counted, the observer heard the same.
	applied := 0
	for _, n := range res.Done {
		applied += n
	}
	if len(obs.got) != len(cs) || count[apply.Applied] != applied || count[apply.Failed] != len(res.Failed) || count[apply.Skipped] != res.Skipped {
		t.Errorf("observed %d changes %v; want all %d as Run counted them: %d applied, %d failed, %d skipped", len(obs.got), count, len(cs), applied, len(res.Failed), res.Skipped)
	}
	if len(res.Failed) != 2 || res.Skipped < 1 || res.Skipped > 12 {
		t.Errorf("Run: %d failed, %d skipped; want 2 failed and between 1 and 12 skipped (cancelled once 20 finished)", len(res.Failed), res.Skipped)
	}
	if obs.got["u3"] != apply.Failed || obs.got["gone"] != apply.Skipped {
		t.Errorf("u3 %s, gone %s; want failed and skipped", obs.got["u3"], obs.got["gone"])
	}
}

// TestRunBoundsChangeLines: with ChangeLines set, the log names that many
// changes applied, every failure, a summary per phase and one line with
// the count left out and the hint.
func TestRunBoundsChangeLines(t *testing.T) {
	var cs []plan.Change
	for i := range 500 {
		cs = append(cs, ch(plan.Create, plan.KindUser, fmt.Sprintf("u%d", i)))
	}
	for i := range 100 {
		cs = append(cs, ch(plan.Delete, plan.KindGroup, fmt.Sprintf("g%d", i)))
	}
	fail := map[string]error{}
	for i := range 30 {
		fail[fmt.Sprintf("u%d", 400+i)] = errors.New("HTTP 500")
	}
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	_, err := apply.Run(context.Background(), &plan.Plan{Changes: cs}, &fakeTarget{fail: fail}, &fakeRecorder{}, apply.Options{
		Log: log, ChangeLines: 50, OmittedHint: "The audit log a.jsonl has every change."})
	if err == nil {
		t.Fatal("Run succeeded, want the 30 failures")
	}
	out := buf.String()
	lines := strings.Count(out, "\n")
	if n := strings.Count(out, `msg="Change applied."`); n != 50 {
		t.Errorf("%d lines name a change applied, want 50", n)
	}
	if n := strings.Count(out, `msg="Change failed."`); n != 30 {
		t.Errorf("%d lines name a failure, want all 30", n)
	}
	for _, want := range []string{
		`msg="Finished the user changes." kind=user applied=470 failed=30 not_started=0`,
		`msg="Finished the group deletes." kind=group applied=100 failed=0`,
		`Left 520 changes applied out of this log; the first 50 were logged one by one, the phase summaries count the rest. The audit log a.jsonl has every change." omitted=520`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if lines > 50+30+2+1+1 {
		t.Errorf("the log has %d lines for 600 changes, want at most 84", lines)
	}
}
