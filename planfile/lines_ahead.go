package planfile

import (
	"fmt"
	"runtime"
	"sync"

	"github.com/ldapply/ldapply/plan"
)

// writeBatch is how many changes' lines a worker of a lineMaker makes
// at a time, fewer when their lists hold more than writeBatchValues
// values (a group of 1,000 members takes as long as 100 users).
const (
	writeBatch       = 256
	writeBatchValues = 16 << 10
)

// batchEnd returns where the batch that starts at cs[first] ends.
func batchEnd(cs []plan.Change, first int) int {
	values := 0
	for i := first; i < len(cs) && i < first+writeBatch; i++ {
		for _, o := range []*plan.Object{cs[i].Before, cs[i].After} {
			if o != nil {
				for _, list := range o.Lists {
					values += len(list)
				}
			}
		}
		if values > writeBatchValues {
			return max(i, first+1)
		}
	}
	return min(first+writeBatch, len(cs))
}

// lineMaker makes the lines of changes on workers, a batch at a time,
// and hands the batches back in order. A line depends only on its change
// and the ids of the changes before it, so every id is indexed first.
// The file is the one a Writer makes change by change
// (TestWriteMatchesSequential); bench/planfile.md has what it gains.
//
// The workers run ahead of the writer by up to linesAhead bytes of made
// lines: so they keep making lines while the header, which comes first
// in the file, is made (300,000 refs in a plan of 100,000 creates).
type lineMaker struct {
	cs    []plan.Change
	ids   map[string]int // id -> number of its first change; set before the first batch is sent
	order chan *lineBatchOut
	free  chan []byte   // written batches' buffers
	done  chan struct{} // closed by stop
	wg    sync.WaitGroup

	mu      sync.Mutex
	ahead   int           // bytes of lines made and not yet written
	written chan struct{} // a batch was written (buffered, 1)
}

// linesAhead bounds the bytes of lines made ahead of the writer.
var linesAhead = 16 << 20

// lineBatchOut is the lines of cs[first:end], each ending in a newline,
// once made is closed.
type lineBatchOut struct {
	first, end int
	lines      []byte
	made       chan struct{}
}

// startLines starts making the lines of cs, or returns nil when one
// core, or few changes, would not gain from it.
func startLines(cs []plan.Change) *lineMaker {
	workers := min(runtime.GOMAXPROCS(0), 8)
	if workers < 2 || len(cs) < 2*writeBatch {
		return nil
	}
	// Batches go to the workers in order and come back in that order,
	// while the lines made ahead of the writer are fewer than linesAhead
	// bytes (and at most 1,024 batches).
	m := &lineMaker{cs: cs, order: make(chan *lineBatchOut, 1024), free: make(chan []byte, 64), done: make(chan struct{}), written: make(chan struct{}, 1)}
	jobs := make(chan *lineBatchOut)
	m.wg.Go(func() {
		defer close(jobs)
		m.ids = make(map[string]int, len(cs))
		for i := range cs {
			if _, dup := m.ids[cs[i].ID]; !dup {
				m.ids[cs[i].ID] = i
			}
		}
		for first, end := 0, 0; first < len(cs); first = end {
			end = batchEnd(cs, first)
			for m.made(0) >= linesAhead {
				select {
				case <-m.written:
				case <-m.done:
					return
				}
			}
			b := &lineBatchOut{first: first, end: end, made: make(chan struct{})}
			select {
			case b.lines = <-m.free:
			default:
			}
			for _, ch := range []chan *lineBatchOut{m.order, jobs} {
				select {
				case ch <- b:
				case <-m.done:
					return
				}
			}
		}
		close(m.order)
	})
	for range workers {
		m.wg.Go(func() {
			e := lineEncoder{}
			for b := range jobs {
				e.ids = m.ids // set before the first batch was sent
				for i := b.first; i < b.end; i++ {
					e.n = i
					b.lines = append(appendFileChange(b.lines, e.fileChange(&cs[i])), '\n')
				}
				m.made(len(b.lines))
				close(b.made)
			}
		})
	}
	return m
}

// made adds n bytes to the lines made ahead of the writer, and returns
// how many there are.
func (m *lineMaker) made(n int) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ahead += n
	return m.ahead
}

// stop ends m's goroutines; m may be nil.
func (m *lineMaker) stop() {
	if m != nil {
		close(m.done)
		m.wg.Wait()
	}
}

// writeLines writes the lines m makes, in order, as Change would have.
func (pw *Writer) writeLines(m *lineMaker) error {
	defer m.stop()
	for b := range m.order {
		<-b.made
		if err := pw.line(b.lines); err != nil {
			return fmt.Errorf("plan file: write: %w", err)
		}
		pw.enc.n = b.end
		m.made(-len(b.lines))
		select {
		case m.written <- struct{}{}:
		default:
		}
		select {
		case m.free <- b.lines[:0]:
		default:
		}
	}
	pw.enc.ids = m.ids
	return nil
}
