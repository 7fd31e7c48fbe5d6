package plan

import (
	"fmt"
	"testing"
)

// TestEarlierIDsAt finds each change's id among earlier batches of
// batchLines changes, of other lengths (which decode does not make
// today, but at must not misread), and the batch's own.
func TestEarlierIDsAt(t *testing.T) {
	for _, sizes := range [][]int{{batchLines, batchLines, batchLines}, {batchLines, 3, batchLines + 7, 1}, {1, 1, 2 * batchLines}} {
		var e earlierIDs
		n := 0
		for _, size := range sizes {
			b := &batchIDs{first: n}
			for range size {
				b.ids = append(b.ids, fmt.Sprint("id-", n))
				n++
			}
			e.before = append(e.before, b)
		}
		e.own0 = n
		e.own = []string{fmt.Sprint("id-", n), fmt.Sprint("id-", n+1)}
		if e.len() != n+2 {
			t.Errorf("sizes %v: len %d, want %d", sizes, e.len(), n+2)
		}
		for i := range n + 2 {
			if got, want := e.at(i), fmt.Sprint("id-", i); got != want {
				t.Fatalf("sizes %v: at(%d) = %s, want %s", sizes, i, got, want)
			}
		}
	}
}
