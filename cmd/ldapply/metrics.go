package main

import (
	"bytes"
	"cmp"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"time"

	"github.com/ldapply/ldapply/apply"
	"github.com/ldapply/ldapply/plan"
)

// writeMetrics writes Prometheus text-format metrics for node_exporter's
// textfile collector after a plan, apply or sync (path "" does nothing).
// The file is replaced atomically. The last-success timestamp of an
// operation survives a failed run: it is carried over from the old file.
func writeMetrics(path, operation string, started time.Time, pl *planned, res *apply.Result, runErr error, log *slog.Logger) {
	if path == "" {
		return
	}
	var b bytes.Buffer
	gauge := func(name, help string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name)
	}
	success := 0
	if runErr == nil {
		success = 1
	}
	gauge("ldapply_run_success", "1 when the last run of the operation succeeded, 0 when it failed.")
	fmt.Fprintf(&b, "ldapply_run_success{operation=%q} %d\n", operation, success)
	gauge("ldapply_run_duration_seconds", "Wall time of the last run.")
	fmt.Fprintf(&b, "ldapply_run_duration_seconds{operation=%q} %.3f\n", operation, time.Since(started).Seconds())
	gauge("ldapply_run_timestamp_seconds", "When the last run ended (Unix time).")
	fmt.Fprintf(&b, "ldapply_run_timestamp_seconds{operation=%q} %d\n", operation, time.Now().Unix())
	gauge("ldapply_last_success_timestamp_seconds", "When a run of the operation last succeeded (Unix time).")
	last := time.Now().Unix()
	if runErr != nil {
		last = previousSuccess(path, operation)
	}
	if last > 0 {
		fmt.Fprintf(&b, "ldapply_last_success_timestamp_seconds{operation=%q} %d\n", operation, last)
	}
	if pl != nil {
		gauge("ldapply_planned_changes", "Changes in the last plan, by kind and action.")
		counts := map[[2]string]int{}
		for i := range pl.plan.Changes {
			c := &pl.plan.Changes[i]
			counts[[2]string{string(c.Kind), c.Action.String()}]++
		}
		keys := slices.SortedFunc(maps.Keys(counts), func(a, b [2]string) int { return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1])) })
		for _, k := range keys {
			fmt.Fprintf(&b, "ldapply_planned_changes{operation=%q,kind=%q,action=%q} %d\n", operation, k[0], k[1], counts[k])
		}
		gauge("ldapply_objects", "Objects seen by the last plan (source, target, managed), by kind.")
		for _, k := range slices.Sorted(maps.Keys(pl.plan.Counts)) {
			fmt.Fprintf(&b, "ldapply_objects{operation=%q,what=%q} %d\n", operation, k, pl.plan.Counts[k])
		}
	}
	if res != nil {
		gauge("ldapply_applied_changes", "Changes applied by the last run, by action.")
		for _, a := range []plan.Action{plan.Create, plan.Adopt, plan.Update, plan.Rename, plan.Delete} {
			fmt.Fprintf(&b, "ldapply_applied_changes{operation=%q,action=%q} %d\n", operation, a.String(), res.Done[a])
		}
		gauge("ldapply_failed_changes", "Changes that failed in the last run.")
		fmt.Fprintf(&b, "ldapply_failed_changes{operation=%q} %d\n", operation, len(res.Failed))
	}
	errs := 0
	if runErr != nil {
		errs = 1
		if res != nil && len(res.Failed) > 0 {
			errs = len(res.Failed)
		}
	}
	gauge("ldapply_run_errors", "Errors in the last run.")
	fmt.Fprintf(&b, "ldapply_run_errors{operation=%q} %d\n", operation, errs)

	tmp, err := os.CreateTemp(filepath.Dir(path), ".ldapply-metrics-*")
	if err == nil {
		_, err = tmp.Write(b.Bytes())
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			os.Chmod(tmp.Name(), 0o644)
			err = os.Rename(tmp.Name(), path)
		}
		os.Remove(tmp.Name())
	}
	if err != nil {
		log.Error("Could not write the metrics file.", "path", path, "err", err)
	}
}

var lastSuccessRE = regexp.MustCompile(`(?m)^ldapply_last_success_timestamp_seconds\{operation="([a-z]+)"\} (\d+)$`)

func previousSuccess(path, operation string) int64 {
	old, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, m := range lastSuccessRE.FindAllSubmatch(old, -1) {
		if string(m[1]) == operation {
			var v int64
			fmt.Sscan(string(m[2]), &v)
			return v
		}
	}
	return 0
}
