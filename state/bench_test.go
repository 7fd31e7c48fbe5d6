package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/ldapply/ldapply/plan"
)

// BenchmarkPut measures durable Puts. "serial" is one goroutine; "parallel10"
// is ten goroutines sharing the group commit; "tx-per-put/parallel10" is the
// baseline without group commit: ten goroutines each running their own
// db.Update. puts/commit reports how many Puts shared a transaction.
func BenchmarkPut(b *testing.B) {
	binding := func(i int64) plan.Binding {
		return plan.Binding{Kind: plan.KindUser, Key: fmt.Sprintf("key-%d", i), ID: fmt.Sprintf("id-%d", i), Name: "name"}
	}
	lock := func(b *testing.B) *Locked {
		l, err := Lock(context.Background(), filepath.Join(b.TempDir(), "bench.state"), NewLockInfo("bench", "test"), 0)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = l.Unlock() })
		return l
	}
	parallel := func(b *testing.B, workers int, put func(i int64) error) {
		var next atomic.Int64
		var wg sync.WaitGroup
		b.ResetTimer()
		for range workers {
			wg.Go(func() {
				for {
					i := next.Add(1)
					if i > int64(b.N) {
						return
					}
					if err := put(i); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
	}

	b.Run("serial", func(b *testing.B) {
		l := lock(b)
		b.ResetTimer()
		for i := range int64(b.N) {
			if err := l.Put(binding(i)); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/float64(l.commits.Load()), "puts/commit")
	})
	b.Run("parallel10", func(b *testing.B) {
		l := lock(b)
		parallel(b, 10, func(i int64) error { return l.Put(binding(i)) })
		b.ReportMetric(float64(b.N)/float64(l.commits.Load()), "puts/commit")
	})
	b.Run("tx-per-put/parallel10", func(b *testing.B) {
		l := lock(b)
		parallel(b, 10, func(i int64) error {
			bd := binding(i)
			v, _ := json.Marshal(bd)
			return l.db.Update(func(tx *bolt.Tx) error {
				return tx.Bucket(bucketBindings).Put(bindingKey(bd.Kind, bd.Key), v)
			})
		})
		b.ReportMetric(1, "puts/commit")
	})
}

// BenchmarkRead reads a state of 100,000 user and 2,000 group bindings,
// as every plan of make bench's largest directory does.
func BenchmarkRead(b *testing.B) {
	path := filepath.Join(b.TempDir(), "bench.state")
	l, err := Lock(context.Background(), path, NewLockInfo("bench", "test"), 0)
	if err != nil {
		b.Fatal(err)
	}
	err = l.db.Update(func(tx *bolt.Tx) error {
		for i := range 102000 {
			bd := plan.Binding{Kind: plan.KindUser, Key: fmt.Sprintf("1f05a1c3-%04x-11f0-8a3f-0242ac120002", i), ID: fmt.Sprintf("6ba7b810-9dad-51d1-80b4-%012x", i), Name: fmt.Sprintf("user%06d", i)}
			if i >= 100000 {
				bd.Kind, bd.Name = plan.KindGroup, fmt.Sprintf("group%05d", i)
			}
			v, _ := json.Marshal(bd)
			if err := tx.Bucket(bucketBindings).Put(bindingKey(bd.Kind, bd.Key), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err := errors.Join(err, l.Unlock()); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		s, err := Read(context.Background(), path, 0)
		if err != nil || len(s.Bindings[plan.KindUser]) != 100000 {
			b.Fatal(err)
		}
	}
}
