package planfile

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"iter"
	"runtime"
	"sort"
	"sync"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/ldapply/ldapply/plan"
)

// decodeConcurrent is decodeSequential with the change lines unmarshaled
// and their changes restored ahead, on other goroutines; they are checked
// and passed to change in file order, each before any error found
// further on is returned (TestDecodeMatchesSequential). The header is
// unmarshaled on a goroutine of its own while the change lines are read
// and unmarshaled ahead, up to headerLookahead bytes of them; it is
// passed to header before any change, and its errors come first.
func decodeConcurrent(br *bufio.Reader, signKey []byte, header func(*plan.Plan) error, change func(*plan.Change) error) error {
	sum := sha256.New()
	ahead := newDecodeAhead()
	defer ahead.stop()
	var hdr *headerAhead
	changes := 0
	flush := func(all bool) error {
		if !all && !hdr.unmarshaled() && ahead.bytes < headerLookahead {
			return nil // read on while the header is unmarshaled
		}
		if err := hdr.wait(header); err != nil {
			return err
		}
		for b := range ahead.ready(all) {
			for i, c := range b.changes {
				if b.errs[i] != nil {
					return fmt.Errorf("%w: change %d: %v", ErrCorrupt, b.first+i, b.errs[i])
				}
				changes++
				if err := change(c); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for n := 0; ; n++ {
		line, err := readLine(br, nil)
		if err != nil {
			// The file ends here: the changes before come first.
			if ferr := flush(true); ferr != nil {
				return ferr
			}
			return err
		}
		if n > 0 && bytes.HasPrefix(line, trailerPrefix) {
			if err := flush(true); err != nil {
				return err
			}
			return checkTrailer(br, line, sum.Sum(nil), changes, signKey)
		}
		sum.Write(line)
		if n > 0 {
			ahead.add(n, line)
			if err := flush(false); err != nil {
				return err
			}
			continue
		}
		hdr = unmarshalHeader(line)
	}
}

// headerAhead is a header line being unmarshaled.
type headerAhead struct {
	done   chan struct{}
	p      *plan.Plan
	err    error
	passed bool // to the header callback
}

func unmarshalHeader(line []byte) *headerAhead {
	h := &headerAhead{done: make(chan struct{})}
	go func() {
		defer close(h.done)
		h.p, h.err = decodeHeader(line)
	}()
	return h
}

// unmarshaled reports whether h is unmarshaled; true when h is nil.
func (h *headerAhead) unmarshaled() bool {
	if h == nil {
		return true
	}
	select {
	case <-h.done:
		return true
	default:
		return false
	}
}

// wait waits for the header and passes it to the header callback once;
// it returns the header line's error, or the callback's. h may be nil:
// there is no header line yet.
func (h *headerAhead) wait(header func(*plan.Plan) error) error {
	if h == nil {
		return nil
	}
	if !h.passed {
		<-h.done
		h.passed = true
		if h.err == nil {
			h.err = header(h.p)
		}
	}
	return h.err
}

// decodeAhead unmarshals change lines and restores their changes on
// worker goroutines, a batch at a time, and hands the batches back in
// the order they were added. A batch's lists refer to the changes before
// it: a worker restores them once every earlier batch is unmarshaled,
// from those batches' ids.
type decodeAhead struct {
	work    chan *lineBatch
	wg      sync.WaitGroup
	cur     *lineBatch   // being filled
	pending []*lineBatch // sent to the workers, in order
	ids     []*batchIDs  // of every batch sent, in order
	changes int          // lines added
	bytes   int          // of the lines added and not yet handed back
}

// lineBatch is a run of consecutive change lines, the first numbered
// first (the header is line 0), and what they unmarshaled to: a change
// for each line, or the error that stops the decoding there.
type lineBatch struct {
	first   int
	size    int // bytes in lines
	lines   [][]byte
	fcs     []fileChange
	changes []*plan.Change
	errs    []error
	ids     *batchIDs   // this batch's
	before  []*batchIDs // every earlier batch's, each of batchLines changes
	done    chan struct{}
}

// batchIDs are the ids of a batch's changes, set before unmarshaled is
// closed; first is the number of its first change (0 is the first in
// the file).
type batchIDs struct {
	first       int
	ids         []string
	unmarshaled chan struct{}
}

// earlierIDs are the ids of the changes before one: those of the earlier
// batches, then those before it in its own, which starts at change own0.
type earlierIDs struct {
	before []*batchIDs
	own    []string
	own0   int
}

func (e *earlierIDs) len() int { return e.own0 + len(e.own) }

// at returns the id of change n, which is before e's.
func (e *earlierIDs) at(n int) string {
	if n >= e.own0 {
		return e.own[n-e.own0]
	}
	// Batches are batchLines changes long but for the last, so the guess
	// is right; the search is for batches of other lengths.
	k := n / batchLines
	if k >= len(e.before) || e.before[k].first > n || n-e.before[k].first >= len(e.before[k].ids) {
		k = sort.Search(len(e.before), func(j int) bool { return e.before[j].first > n }) - 1
	}
	b := e.before[k]
	return b.ids[n-b.first]
}

const (
	batchLines   = 256
	batchesAhead = 8
	// headerLookahead bounds the bytes of change lines read ahead while
	// the header is unmarshaled.
	headerLookahead = 16 << 20
)

func newDecodeAhead() *decodeAhead {
	d := &decodeAhead{work: make(chan *lineBatch, batchesAhead)}
	for range min(runtime.GOMAXPROCS(0), batchesAhead) {
		d.wg.Go(func() {
			for b := range d.work {
				b.decode()
			}
		})
	}
	return d
}

// decode unmarshals b's lines, then restores their changes once the
// batches before it are unmarshaled.
func (b *lineBatch) decode() {
	defer close(b.done)
	b.fcs, b.errs = make([]fileChange, len(b.lines)), make([]error, len(b.lines))
	b.ids.ids = make([]string, len(b.lines))
	size := 0
	for i, line := range b.lines {
		b.errs[i] = jsonv2.Unmarshal(line, &b.fcs[i], lineOptions)
		size += len(b.fcs[i].ID)
	}
	// The batch's ids in one string: lists restored from them read
	// ids from a few pages rather than from all over the heap.
	all := make([]byte, 0, size)
	for i := range b.fcs {
		all = append(all, b.fcs[i].ID...)
	}
	packed := string(all)
	for i := range b.fcs {
		fc := &b.fcs[i]
		id := packed[:len(fc.ID)]
		packed = packed[len(fc.ID):]
		for _, o := range []*fileObject{fc.Before, fc.After} {
			if o != nil && o.ID == fc.ID {
				o.ID = id
			}
		}
		fc.ID, b.ids.ids[i] = id, id
	}
	b.lines = nil
	close(b.ids.unmarshaled)
	for _, e := range b.before {
		<-e.unmarshaled
	}
	b.changes = make([]*plan.Change, len(b.fcs))
	ids := earlierIDs{before: b.before, own0: b.ids.first}
	for i := range b.fcs {
		if b.errs[i] != nil {
			return // the decoding stops here
		}
		ids.own = b.ids.ids[:i]
		if b.changes[i], b.errs[i] = b.fcs[i].change(&ids); b.errs[i] != nil {
			return
		}
	}
	b.fcs = nil
}

// add queues line n.
func (d *decodeAhead) add(n int, line []byte) {
	if d.cur == nil {
		d.cur = &lineBatch{first: n, lines: make([][]byte, 0, batchLines), done: make(chan struct{}),
			ids: &batchIDs{first: d.changes, unmarshaled: make(chan struct{})}, before: d.ids[:len(d.ids):len(d.ids)]}
	}
	d.changes++
	d.cur.size += len(line)
	d.bytes += len(line)
	if d.cur.lines = append(d.cur.lines, line); len(d.cur.lines) == batchLines {
		d.send()
	}
}

func (d *decodeAhead) send() {
	d.work <- d.cur
	d.pending = append(d.pending, d.cur)
	d.ids = append(d.ids, d.cur.ids)
	d.cur = nil
}

// ready returns the decoded batches that are due, oldest first: all of
// them when all is set, else those beyond batchesAhead.
func (d *decodeAhead) ready(all bool) iter.Seq[*lineBatch] {
	if all && d.cur != nil {
		d.send()
	}
	return func(yield func(*lineBatch) bool) {
		for len(d.pending) > 0 && (all || len(d.pending) > batchesAhead) {
			b := d.pending[0]
			<-b.done
			d.pending = d.pending[1:]
			d.bytes -= b.size
			if !yield(b) {
				return
			}
		}
	}
}

// stop ends the workers once they have finished what was sent.
func (d *decodeAhead) stop() {
	close(d.work)
	d.wg.Wait()
}
