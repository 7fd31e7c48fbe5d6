package state

import (
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Import replaces the whole state with s, lineage, serial and sign key
// included, in one transaction (state migrate, state push). It refuses s
// without a lineage or sign key, another lineage over a state holding
// anything (serial > 0, bindings or runs), and a serial going backwards.
func (l *Locked) Import(s *Snapshot) error {
	if s.Lineage == "" || len(s.SignKey) != SignKeySize {
		return errorf(nil, nil, "refusing to import a state without a lineage or a %d-byte sign key into %s", SignKeySize, l.path)
	}
	type kv struct{ k, v []byte }
	var bindings, runs []kv
	for _, m := range s.Bindings {
		for _, b := range m {
			if err := validKey(l.path, b.Kind, b.Key); err != nil {
				return err
			}
			v, err := json.Marshal(b)
			if err != nil {
				return fmt.Errorf("state: encode binding %s %q: %w", b.Kind, b.Key, err)
			}
			bindings = append(bindings, kv{bindingKey(b.Kind, b.Key), v})
		}
	}
	for _, r := range s.Runs[max(0, len(s.Runs)-MaxRuns):] {
		v, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("state: encode run %s: %w", r.ID, err)
		}
		runs = append(runs, kv{nil, v})
	}
	return l.submit(func(tx *bolt.Tx) error {
		cur, err := readSnapshot(tx, l.path)
		if err != nil {
			return err
		}
		n := 0
		for _, m := range cur.Bindings {
			n += len(m)
		}
		if cur.Lineage != s.Lineage && (cur.Serial > 0 || n > 0 || len(cur.Runs) > 0) {
			return errorf(nil, nil, "refusing to import state lineage %s into %s, which already holds another state (lineage %s, serial %d); use a new state path", s.Lineage, l.path, cur.Lineage, cur.Serial)
		}
		if cur.Lineage == s.Lineage && cur.Serial > s.Serial {
			return errorf(nil, nil, "refusing to import serial %d into %s, which already has serial %d of the same lineage %s: the serial would go backwards", s.Serial, l.path, cur.Serial, cur.Lineage)
		}
		meta := tx.Bucket(bucketMeta)
		for _, p := range []kv{{keyLineage, []byte(s.Lineage)}, {keySerial, u64(s.Serial)}, {keySignKey, s.SignKey}} {
			if err := meta.Put(p.k, p.v); err != nil {
				return err
			}
		}
		for _, name := range [][]byte{bucketBindings, bucketRuns} {
			if err := tx.DeleteBucket(name); err != nil {
				return err
			}
			if _, err := tx.CreateBucket(name); err != nil {
				return err
			}
		}
		for _, p := range bindings {
			if err := tx.Bucket(bucketBindings).Put(p.k, p.v); err != nil {
				return err
			}
		}
		rb := tx.Bucket(bucketRuns)
		for _, p := range runs {
			seq, err := rb.NextSequence()
			if err != nil {
				return err
			}
			if err := rb.Put(u64(seq), p.v); err != nil {
				return err
			}
		}
		return nil
	})
}
