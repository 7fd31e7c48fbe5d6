package plan

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"iter"
	"maps"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"sync"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/klauspost/compress/gzip"
)

// lineOptions decode a change line with encoding/json/v2, as leniently
// as encoding/json: duplicate names and invalid UTF-8 are accepted.
var lineOptions = jsonv2.JoinOptions(jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true), stringMaps(0))

// The plan file is JSON Lines so that it can be written and shown as a
// stream: the first line is the header (a [Plan] without its changes),
// then one line per [Change], then a trailer line
//
//	{"checksum":{"changes":N,"sha256":"…","hmac_sha256":"…"}}
//
// whose sha256 covers every byte before the trailer (corruption) and whose
// hmac_sha256 is the HMAC-SHA256 of that digest's 32 bytes, keyed with
// the state's sign key (tampering: only someone holding the state can
// produce it). Version 2 computed the HMAC over every byte too: a second
// pass over the file for the same assurance.
//
// The file is written gzip-compressed (level 1: fast, and most of a
// large plan is repeated structure); readers accept it compressed or not.
//
// To keep large plans small, a change line does not hold every list as
// the change does in memory:
//
//   - List attributes are stored as their difference: Before.Lists holds
//     only the removed values and After.Lists only the added ones (a create
//     keeps its whole list; a delete keeps none). [Read] returns them so;
//     [AttrChanges] gives the same result on either form, and apply sends
//     Payload, which is always complete.
//   - A list that holds ids of earlier changes in the file (a group's
//     members, thousands of UUIDs) is stored under "list_refs" instead
//     of "lists", as {"refs":[…],"others":[…]}: refs holds the list's
//     values in order, each as the number of the change whose id it is
//     (0 is the first change line) or, for a value that is no such id,
//     as -1 for the first of others, -2 for the second and so on.
//     Restoring a list is one lookup per value: no sort.
//   - A create's list that its Payload holds verbatim (as json.Marshal
//     encodes it) as a top-level member is stored once: the payload holds
//     null in its place, and "payload_lists" maps the list's name to the
//     member's key.
//
// Reading undoes the last two exactly, so the payload apply sends is
// byte for byte the one planned, and the checksum, which covers the
// lines it is rebuilt from, covers it. Older format versions are
// refused ("run plan again"): version 1 stored such lists in the payload
// only, and version 2 stored sorted lists' refs ascending, as
// differences, so that reading had to sort each list again.

// ErrCorrupt is returned when a plan file is truncated, not a plan file,
// or its checksum does not match its content.
var ErrCorrupt = errors.New("plan file is corrupt")

// ErrTampered is returned by [Read] and [Decode] when the checksum
// matches but the signature does not: the file was edited, or made
// against another state.
var ErrTampered = errors.New("plan file signature does not match the state")

type trailer struct {
	Checksum struct {
		Changes int    `json:"changes"`
		SHA256  string `json:"sha256"`
		HMAC    string `json:"hmac_sha256"`
	} `json:"checksum"`
}

var trailerPrefix = []byte(`{"checksum":`)

// fileChange is a [Change] as a plan file line holds it.
type fileChange struct {
	Action  Action          `json:"action"`
	Kind    Kind            `json:"kind"`
	Key     string          `json:"key"`
	ID      string          `json:"id"`
	Before  *fileObject     `json:"before,omitempty"`
	After   *fileObject     `json:"after,omitempty"`
	Payload json.RawMessage `json:"payload,omitempty"`
	// PayloadLists maps the name of a list of After to the key of the
	// top-level Payload member that holds null in its place.
	PayloadLists map[string]string `json:"payload_lists,omitempty"`
}

// fileObject is an [Object] as a plan file holds it: a list in ListRefs
// is not in Lists.
type fileObject struct {
	Object
	ListRefs map[string]*listRefs `json:"list_refs,omitempty"`
}

// listRefs is a list whose values include ids of earlier changes.
type listRefs struct {
	// Refs are the list's values in order: n >= 0 is the id of change n
	// (0 is the first change in the file), and -k is Others[k-1]. It is
	// never empty, and names each of Others once, in order.
	Refs refNumbers `json:"refs"`
	// Others are the list's values that are not ids of earlier changes.
	Others []string `json:"others,omitempty"`
}

// refNumbers are a list's refs: 2,000,000 numbers in a plan of 100,000
// creates, which they unmarshal without reflection, as a []int does.
type refNumbers []int

func (r *refNumbers) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	v, err := dec.ReadValue() // valid JSON
	switch {
	case err != nil:
		return err
	case v.Kind() == 'n':
		*r = nil
		return nil
	case v.Kind() != '[':
		return fmt.Errorf("refs is %v, not an array", v.Kind())
	}
	out := make([]int, 0, bytes.Count(v, []byte{','})+1)
	for i := skipSpace(v, 1); v[i] != ']'; {
		end := i
		for end < len(v) && v[end] != ',' && v[end] != ']' && v[end] != ' ' && v[end] != '\t' && v[end] != '\n' && v[end] != '\r' {
			end++
		}
		num := v[i:end]
		n, ok := 0, true
		switch {
		case string(num) == "null":
		case len(num) < 19 && (num[0] == '-' || '0' <= num[0] && num[0] <= '9'):
			for j, c := range num {
				switch {
				case '0' <= c && c <= '9':
					n = n*10 + int(c-'0')
				case c != '-' || j > 0:
					ok = false
				}
			}
			if num[0] == '-' {
				n = -n
			}
		default:
			n64, err := strconv.ParseInt(string(num), 10, 0)
			n, ok = int(n64), err == nil
		}
		if !ok {
			return fmt.Errorf("refs holds %s, not a whole number", num)
		}
		out = append(out, n)
		if i = skipSpace(v, end); v[i] == ',' {
			i = skipSpace(v, i+1)
		}
	}
	*r = out
	return nil
}

// Writer writes a plan file change by change.
type Writer struct {
	w       *bufio.Writer
	async   *asyncWriter // in front of gz
	gz      *gzip.Writer
	sum     hash.Hash
	signKey []byte
	changes int
	ids     *Index[int] // id -> number of the first change written with it
	enc     lineEncoder // for Change, over ids
	buf     []byte      // scratch for a line
}

// lineEncoder makes the lines of changes; each goroutine that makes them
// has its own.
type lineEncoder struct {
	ids *Index[int] // id -> number of the first change with it
	n   int         // the number of the change being made: refs are to changes before it
	// list is scratch for listsOutOfPayload.
	list []byte
}

// NewWriter writes p's header to w; signKey keys the trailer's HMAC.
// Changes are written with [Writer.Change], and the file ends with
// [Writer.Close], which must be called unless NewWriter or Change failed.
// p.Changes is ignored.
func NewWriter(w io.Writer, p *Plan, signKey []byte) (*Writer, error) {
	gz, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
	pw := &Writer{gz: gz, async: newAsyncWriter(gz), sum: sha256.New(), signKey: signKey, ids: NewIndex[int](0)}
	pw.enc.ids = pw.ids
	pw.w = bufio.NewWriterSize(pw.async, 256<<10)
	// The refs (one per member of a large plan) are appended by hand,
	// after the rest of the header.
	hdr := *p
	hdr.FormatVersion = FormatVersion
	hdr.Refs = nil
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&hdr); err != nil {
		pw.async.Close()
		return nil, fmt.Errorf("plan: write header: %w", err)
	}
	line := bytes.TrimSuffix(buf.Bytes(), []byte("}\n"))
	if len(p.Refs) > 0 {
		line = appendStringMap(append(line, `,"refs":`...), p.Refs)
	}
	if err := pw.line(append(line, "}\n"...)); err != nil {
		pw.async.Close()
		return nil, fmt.Errorf("plan: write header: %w", err)
	}
	return pw, nil
}

// Change appends one change (see the file format notes for how its lists
// are stored).
func (pw *Writer) Change(c *Change) error {
	pw.enc.n = pw.changes
	line, err := appendFileChange(pw.buf[:0], pw.enc.fileChange(c))
	if err == nil {
		err = pw.line(append(line, '\n'))
		pw.buf = line
	}
	if err != nil {
		pw.async.Close()
		return fmt.Errorf("plan: write change %s %s: %w", c.Kind, c.Name(), err)
	}
	if _, dup := pw.ids.Get(c.ID); !dup {
		pw.ids.Set(c.ID, pw.changes)
	}
	pw.changes++
	return nil
}

// line writes one line of the file, which the checksum and the
// signature cover.
func (pw *Writer) line(b []byte) error {
	pw.sum.Write(b)
	_, err := pw.w.Write(b)
	return err
}

// Close writes the trailer and flushes. It does not close the underlying
// writer.
func (pw *Writer) Close() error {
	var t trailer
	t.Checksum.Changes = pw.changes
	sum := pw.sum.Sum(nil)
	t.Checksum.SHA256 = hex.EncodeToString(sum)
	t.Checksum.HMAC = hex.EncodeToString(sign(pw.signKey, sum))
	b, _ := json.Marshal(&t)
	_, err := pw.w.Write(append(b, '\n'))
	if err := errors.Join(err, pw.w.Flush(), pw.async.Close()); err != nil {
		return fmt.Errorf("plan: write: %w", err)
	}
	if err := pw.gz.Close(); err != nil {
		return fmt.Errorf("plan: write: %w", err)
	}
	return nil
}

// sign returns the trailer's signature of a file whose sha256 is sum.
func sign(key, sum []byte) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write(sum)
	return mac.Sum(nil)
}

// asyncWriter passes what is written to w on a goroutine of its own, so
// that w (the compressor) works while the caller encodes what comes next.
// Writes are copied; w's errors are returned by Close, which must be
// called.
type asyncWriter struct {
	chunks chan []byte
	free   chan []byte
	done   chan struct{}
	err    error // w's first error, read after done is closed
	closed bool
}

func newAsyncWriter(w io.Writer) *asyncWriter {
	a := &asyncWriter{chunks: make(chan []byte, 2), free: make(chan []byte, 3), done: make(chan struct{})}
	for range cap(a.free) {
		a.free <- nil
	}
	go func() {
		defer close(a.done)
		for b := range a.chunks {
			if a.err == nil {
				_, a.err = w.Write(b)
			}
			a.free <- b[:0]
		}
	}()
	return a
}

func (a *asyncWriter) Write(p []byte) (int, error) {
	if a.closed {
		return 0, errors.New("write after close")
	}
	a.chunks <- append(<-a.free, p...)
	return len(p), nil
}

// Close waits until everything written has reached w. It may be called
// more than once.
func (a *asyncWriter) Close() error {
	if !a.closed {
		a.closed = true
		close(a.chunks)
	}
	<-a.done
	return a.err
}

// fileChange returns c as the file stores it; c is not modified.
func (e *lineEncoder) fileChange(c *Change) *fileChange {
	c = listDiffs(c)
	fc := &fileChange{Action: c.Action, Kind: c.Kind, Key: c.Key, ID: c.ID, Payload: c.Payload}
	if c.Action == Create && c.After != nil {
		fc.Payload, fc.PayloadLists = e.listsOutOfPayload(c.Payload, c.After.Lists)
	}
	fc.Before, fc.After = e.fileObject(c.Before), e.fileObject(c.After)
	return fc
}

// fileObject returns o with each list that refers to earlier changes
// moved to ListRefs; o is not modified.
func (e *lineEncoder) fileObject(o *Object) *fileObject {
	if o == nil {
		return nil
	}
	fo := &fileObject{Object: *o}
	for name, list := range o.Lists {
		r := e.listRefs(list)
		if r == nil {
			continue
		}
		if fo.ListRefs == nil {
			fo.ListRefs = map[string]*listRefs{}
			fo.Lists = maps.Clone(o.Lists)
		}
		fo.ListRefs[name] = r
		delete(fo.Lists, name)
	}
	return fo
}

// listRefs returns list as references to the earlier changes whose ids it
// holds, or nil when it holds none.
func (e *lineEncoder) listRefs(list []string) *listRefs {
	if e.n == 0 {
		return nil
	}
	r := listRefs{Refs: make([]int, 0, len(list))}
	for _, v := range list {
		if n, ok := e.ids.Get(v); ok && n < e.n {
			r.Refs = append(r.Refs, n)
		} else {
			r.Others = append(r.Others, v)
			r.Refs = append(r.Refs, -len(r.Others))
		}
	}
	if len(r.Others) == len(list) {
		return nil
	}
	return &r
}

// list restores the list r stands for from the ids of the changes
// before its own.
func (r *listRefs) list(ids *earlierIDs) ([]string, error) {
	if r == nil || len(r.Refs) == 0 {
		return nil, errors.New("no refs")
	}
	list := make([]string, len(r.Refs))
	count, others := ids.len(), 0
	for i, n := range r.Refs {
		switch {
		case n >= count:
			return nil, fmt.Errorf("a ref past the %d changes before it", count)
		case n >= 0:
			list[i] = ids.at(n)
		case others == len(r.Others):
			return nil, fmt.Errorf("the ref %d names a value past the %d others", n, len(r.Others))
		case n != -others-1:
			return nil, fmt.Errorf("the ref %d is out of order: the next of others is %d", n, -others-1)
		default:
			list[i] = r.Others[others]
			others++
		}
	}
	if others < len(r.Others) {
		return nil, fmt.Errorf("the refs name %d of its %d others", others, len(r.Others))
	}
	return list, nil
}

// listDiffs returns c with each list of Before and After replaced by its
// difference (see the file format notes); c is not modified.
func listDiffs(c *Change) *Change {
	hasLists := (c.Before != nil && len(c.Before.Lists) > 0) || (c.After != nil && len(c.After.Lists) > 0)
	if !hasLists || c.Action == Create {
		return c
	}
	cp := *c
	if c.Action == Delete {
		if c.Before != nil {
			b := *c.Before
			b.Lists = nil
			cp.Before = &b
		}
		return &cp
	}
	if c.Before == nil || c.After == nil {
		return c
	}
	b, a := *c.Before, *c.After
	b.Lists, a.Lists = map[string][]string{}, map[string][]string{}
	for _, name := range unionKeys(c.Before.Lists, c.After.Lists) {
		added, removed := setDiff(c.Before.Lists[name], c.After.Lists[name])
		if len(removed) > 0 {
			b.Lists[name] = removed
		}
		if len(added) > 0 {
			a.Lists[name] = added
		}
	}
	cp.Before, cp.After = &b, &a
	return &cp
}

// listsOutOfPayload returns payload with null in place of each non-empty
// list of lists that it holds verbatim as a top-level member, and that
// member's key by list name. Only a member whose key appears once and is
// written as json.Marshal writes it qualifies; the rest of payload is
// left as it is.
func (e *lineEncoder) listsOutOfPayload(payload []byte, lists map[string][]string) ([]byte, map[string]string) {
	var keys map[string]string
	for _, name := range slices.Sorted(maps.Keys(lists)) {
		list := lists[name]
		if len(list) == 0 {
			continue
		}
		for _, m := range topMembers(payload) {
			var key string
			if !e.isList(payload[m.start:m.end], list) || json.Unmarshal(m.key, &key) != nil {
				continue
			}
			out := slices.Concat(payload[:m.start], []byte("null"), payload[m.end:])
			// The reader puts appendList(list) back where it finds the
			// null: check that it finds this one.
			if at, ok := nullMember(out, key); !ok || at != m.start {
				continue
			}
			if keys == nil {
				keys = map[string]string{}
			}
			payload, keys[name] = out, key
			break
		}
	}
	return payload, keys
}

// isList reports whether data is appendList(list), comparing in place
// when list's values need no escaping.
func (e *lineEncoder) isList(data []byte, list []string) bool {
	if len(list) == 0 {
		e.list = appendList(e.list[:0], list)
		return bytes.Equal(data, e.list)
	}
	if len(data) < 2 || data[0] != '[' || data[len(data)-1] != ']' {
		return false
	}
	// listLen is the length when no value needs escaping; it reads every
	// value first (see there).
	if len(data) != listLen(list) {
		e.list = appendList(e.list[:0], list)
		return bytes.Equal(data, e.list)
	}
	i := 1
	for k, v := range list {
		if k > 0 {
			if data[i] != ',' {
				return false
			}
			i++
		}
		for j := range len(v) {
			if !plainJSON[v[j]] {
				e.list = appendList(e.list[:0], list)
				return bytes.Equal(data, e.list)
			}
		}
		end := i + 1 + len(v)
		if end >= len(data) || data[i] != '"' || string(data[i+1:end]) != v || data[end] != '"' {
			return false
		}
		i = end + 1
	}
	return i == len(data)-1
}

// listIntoPayload undoes listsOutOfPayload for one list.
func listIntoPayload(payload []byte, key string, list []string) ([]byte, bool) {
	at, ok := nullMember(payload, key)
	if !ok || len(list) == 0 {
		return nil, false
	}
	out := append(make([]byte, 0, len(payload)+listLen(list)), payload[:at]...)
	out = appendList(out, list)
	return append(out, payload[at+len("null"):]...), true
}

// nullMember returns where the value of payload's top-level member key
// starts, when exactly one member has that key (written as json.Marshal
// writes it) and its value is null.
func nullMember(payload []byte, key string) (int, bool) {
	want, err := json.Marshal(key)
	if err != nil {
		return 0, false
	}
	var found []member
	for _, m := range topMembers(payload) {
		if bytes.Equal(m.key, want) {
			found = append(found, m)
		}
	}
	if len(found) != 1 || string(payload[found[0].start:found[0].end]) != "null" {
		return 0, false
	}
	return found[0].start, true
}

// appendList appends list as json.Marshal encodes it, without reflection
// (a group's list holds thousands of ids).
func appendList(b []byte, list []string) []byte {
	if len(list) == 0 {
		enc, _ := json.Marshal(list) // null or []
		return append(b, enc...)
	}
	b = slices.Grow(b, listLen(list))
	for i, v := range list {
		if i == 0 {
			b = append(b, '[')
		} else {
			b = append(b, ',')
		}
		b = appendString(b, v)
	}
	return append(b, ']')
}

// listLen is the length of appendList's encoding of a non-empty list of
// values that need no escaping.
//
// It reads each value's first byte, in a loop short enough that the
// processor fetches many values at once, ahead of the copy or the
// comparison, which would wait for each in turn (a member list's ids are
// spread over the heap).
func listLen(list []string) int {
	n := 1
	for _, v := range list {
		n += len(v) + 3
		if len(v) > 0 && !plainJSON[v[0]] {
			n += 5 // room to escape it
		}
	}
	return n
}

// member is a member of a JSON object: its key as written, quotes
// included, and where its value starts and ends.
type member struct {
	key        []byte
	start, end int
}

// topMembers returns the members of the JSON object data in order, or
// nil when data is not an object. It is exact on valid JSON, and on
// anything else only sure not to read past the end: the reader's lines
// are checked before it runs, and the payload the writer changes is
// checked after, by the encoder, which refuses invalid JSON.
func topMembers(data []byte) []member {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return nil
	}
	var ms []member
	for i = skipSpace(data, i+1); i < len(data) && data[i] == '"'; {
		ks := i
		i = skipString(data, i)
		key := data[ks:i]
		if i = skipSpace(data, i); i >= len(data) || data[i] != ':' {
			return nil
		}
		vs := skipSpace(data, i+1)
		i = skipValue(data, vs)
		ms = append(ms, member{key: key, start: vs, end: i})
		if i = skipSpace(data, i); i < len(data) && data[i] == ',' {
			i = skipSpace(data, i+1)
			continue
		}
		break
	}
	if i >= len(data) || data[i] != '}' {
		return nil
	}
	return ms
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string that starts at data[i].
func skipString(data []byte, i int) int {
	for i++; i < len(data); i++ {
		switch data[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(data)
}

// skipValue returns the index after the value that starts at data[i].
func skipValue(data []byte, i int) int {
	if i >= len(data) {
		return i
	}
	switch data[i] {
	case '"':
		return skipString(data, i)
	case '{', '[':
		depth := 0
		for i < len(data) {
			switch data[i] {
			case '"':
				i = skipString(data, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	}
	for ; i < len(data); i++ { // a number, true, false or null
		switch data[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
	}
	return i
}

// change returns the Change fc was written from; ids are those of the
// changes before it.
func (fc *fileChange) change(ids *earlierIDs) (*Change, error) {
	c := &Change{Action: fc.Action, Kind: fc.Kind, Key: fc.Key, ID: fc.ID, Payload: fc.Payload}
	var err error
	if c.Before, err = fc.Before.object(ids); err != nil {
		return nil, fmt.Errorf("before: %w", err)
	}
	if c.After, err = fc.After.object(ids); err != nil {
		return nil, fmt.Errorf("after: %w", err)
	}
	for _, name := range slices.Sorted(maps.Keys(fc.PayloadLists)) {
		key := fc.PayloadLists[name]
		var list []string
		if c.After != nil {
			list = c.After.Lists[name]
		}
		if len(list) == 0 {
			return nil, fmt.Errorf("payload_lists names the list %q, which after does not hold", name)
		}
		var ok bool
		if c.Payload, ok = listIntoPayload(c.Payload, key, list); !ok {
			return nil, fmt.Errorf("payload_lists names %q, which the payload does not hold once, as null", key)
		}
	}
	return c, nil
}

// object returns the Object fo was written from; ids are those of the
// changes before it.
func (fo *fileObject) object(ids *earlierIDs) (*Object, error) {
	if fo == nil {
		return nil, nil
	}
	o := &fo.Object
	for _, name := range slices.Sorted(maps.Keys(fo.ListRefs)) {
		if _, dup := o.Lists[name]; dup {
			return nil, fmt.Errorf("the list %q is in both lists and list_refs", name)
		}
		list, err := fo.ListRefs[name].list(ids)
		if err != nil {
			return nil, fmt.Errorf("list_refs %q: %w", name, err)
		}
		if o.Lists == nil {
			o.Lists = map[string][]string{}
		}
		o.Lists[name] = list
	}
	fo.ListRefs = nil
	return o, nil
}

// Write writes p with all its changes. Their lines are made on every
// core, starting while the header is (see lineMaker); the file is the
// one [Writer.Change] makes.
func Write(w io.Writer, p *Plan, signKey []byte) error {
	m := startLines(p.Changes)
	pw, err := NewWriter(w, p, signKey)
	if err != nil {
		m.stop()
		return err
	}
	if m == nil {
		for i := range p.Changes {
			if err := pw.Change(&p.Changes[i]); err != nil {
				return err
			}
		}
	} else if err := pw.writeLines(m); err != nil {
		return err
	}
	return pw.Close()
}

// writeBatch is how many changes' lines a worker of a lineMaker makes
// at a time, fewer when their lists hold more than writeBatchValues
// values (a group of 1,000 members takes as long as 100 users).
const (
	writeBatch       = 256
	writeBatchValues = 16 << 10
)

// batchEnd returns where the batch that starts at cs[first] ends.
func batchEnd(cs []Change, first int) int {
	values := 0
	for i := first; i < len(cs) && i < first+writeBatch; i++ {
		for _, o := range []*Object{cs[i].Before, cs[i].After} {
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
//
// The workers run ahead of the writer by up to linesAhead bytes of made
// lines: so they keep making lines while the header, which comes first
// in the file, is made (300,000 refs in a plan of 100,000 creates).
type lineMaker struct {
	cs    []Change
	ids   *Index[int] // set before the first batch is sent
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

// lineBatchOut is the lines of cs[first:end], each ending in a newline;
// when err is set, they stop before the change errAt, which failed.
type lineBatchOut struct {
	first, end int
	lines      []byte
	err        error
	errAt      int
	made       chan struct{}
}

// startLines starts making the lines of cs, or returns nil when one
// core, or few changes, would not gain from it.
func startLines(cs []Change) *lineMaker {
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
		m.ids = NewIndex[int](len(cs))
		for i := range cs {
			if _, dup := m.ids.Get(cs[i].ID); !dup {
				m.ids.Set(cs[i].ID, i)
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
					line, err := appendFileChange(b.lines, e.fileChange(&cs[i]))
					if err != nil {
						b.err, b.errAt = err, i
						break
					}
					b.lines = append(line, '\n')
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
		err := pw.line(b.lines)
		if err != nil {
			err = fmt.Errorf("plan: write: %w", err)
		} else if b.err != nil {
			c := &m.cs[b.errAt]
			err = fmt.Errorf("plan: write change %s %s: %w", c.Kind, c.Name(), b.err)
		}
		if err != nil {
			pw.async.Close()
			return err
		}
		pw.changes = b.end
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
	pw.ids = m.ids
	pw.enc.ids = m.ids
	return nil
}

// Decode reads a plan file as a stream: header is called once with the
// plan's header, then change once for each change in file order. It
// returns ErrCorrupt (wrapped) when the file ends early, holds something
// that is not a plan line, or its checksum does not match; a caller that
// streams output must therefore treat everything it printed as void when
// Decode fails. A header with another format version is rejected before
// any callback. When signKey is not nil, the signature is checked too and
// a mismatch returns ErrTampered. The callbacks run on the caller's
// goroutine; lines are unmarshaled ahead on others.
func Decode(r io.Reader, signKey []byte, header func(*Plan) error, change func(*Change) error) error {
	return decode(r, signKey, header, change)
}

// Read reads a whole plan file into memory and checks its checksum, and
// its signature when signKey is not nil.
func Read(r io.Reader, signKey []byte) (*Plan, error) {
	var p *Plan
	err := decode(r, signKey, func(h *Plan) error { p = h; return nil }, func(c *Change) error {
		p.Changes = append(p.Changes, *c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

func decode(r io.Reader, signKey []byte, header func(*Plan) error, change func(*Change) error) error {
	br := bufio.NewReaderSize(r, 256<<10)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		defer gz.Close()
		br = bufio.NewReaderSize(gz, 256<<10)
	}
	sum := sha256.New()
	// Change lines are unmarshaled and their changes restored ahead, on
	// other goroutines; they are checked and passed to change in file
	// order, each before any error found further on is returned.
	ahead := newDecodeAhead()
	defer ahead.stop()
	// The header (300,000 refs in a plan of 100,000 creates) is
	// unmarshaled on a goroutine of its own while the change lines are
	// read and unmarshaled ahead, up to headerLookahead bytes of them; it
	// is passed to header before any change, and its errors come first.
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
		line, err := br.ReadBytes('\n')
		if err != nil && (err != io.EOF || len(line) == 0) {
			// The file ends here: the changes before come first.
			if err := flush(true); err != nil {
				return err
			}
		}
		if err == io.EOF {
			if len(line) == 0 {
				return fmt.Errorf("%w: it ends before its checksum line (truncated?)", ErrCorrupt)
			}
		} else if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) {
			return fmt.Errorf("%w: %v (truncated?)", ErrCorrupt, err)
		} else if err != nil {
			return fmt.Errorf("plan: read: %w", err)
		}
		if n > 0 && bytes.HasPrefix(line, trailerPrefix) {
			if err := flush(true); err != nil {
				return err
			}
			var t trailer
			if err := json.Unmarshal(line, &t); err != nil {
				return fmt.Errorf("%w: unreadable checksum line: %v", ErrCorrupt, err)
			}
			digest := sum.Sum(nil)
			if got := hex.EncodeToString(digest); got != t.Checksum.SHA256 || t.Checksum.Changes != changes {
				return fmt.Errorf("%w: its checksum does not match its content (edited or damaged)", ErrCorrupt)
			}
			if _, err := br.ReadByte(); err != io.EOF {
				return fmt.Errorf("%w: data after the checksum line", ErrCorrupt)
			}
			if signKey != nil {
				want, _ := hex.DecodeString(t.Checksum.HMAC)
				if !hmac.Equal(sign(signKey, digest), want) {
					return ErrTampered
				}
			}
			return nil
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
	p      *Plan
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
func (h *headerAhead) wait(header func(*Plan) error) error {
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

func decodeHeader(line []byte) (*Plan, error) {
	// One pass: a type error in a header of another version still
	// leaves its version set.
	var h struct {
		Plan
		FormatVersion *int `json:"format_version"`
	}
	refs := min(bytes.Count(line, []byte{':'}), len(line)/len(`"":"",`))
	err := jsonv2.Unmarshal(line, &h, lineOptions, stringMaps(refs))
	if h.FormatVersion == nil {
		return nil, fmt.Errorf("%w: it does not start with an ldapply plan header", ErrCorrupt)
	}
	if *h.FormatVersion != FormatVersion {
		return nil, fmt.Errorf("plan file has format version %d, and this ldapply reads only version %d: use the ldapply version that made it, or run plan again", *h.FormatVersion, FormatVersion)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrCorrupt, err)
	}
	p := h.Plan
	p.FormatVersion = FormatVersion
	return &p, nil
}

// stringMaps unmarshal every map[string]string as encoding/json/v2 does
// (a null value is ""), without reflection, into a map made with room
// for hint entries, or for 8. A user's attrs are such maps, 100,000 in a
// large plan, and so are the header's refs (300,000 entries), which a
// growing map would copy again and again.
func stringMaps(hint int) jsonv2.Options {
	return jsonv2.WithUnmarshalers(jsonv2.UnmarshalFromFunc(func(dec *jsontext.Decoder, m *map[string]string) error {
		tok, err := dec.ReadToken()
		switch {
		case err != nil:
			return err
		case tok.Kind() == 'n':
			*m = nil
			return nil
		case tok.Kind() != '{':
			return fmt.Errorf("%v where an object of strings belongs", tok.Kind())
		}
		if *m == nil {
			*m = make(map[string]string, max(hint, 8))
		}
		for dec.PeekKind() != '}' {
			k, err := dec.ReadToken()
			if err != nil {
				return err
			}
			name := k.String()
			v, err := dec.ReadToken()
			switch {
			case err != nil:
				return err
			case v.Kind() == 'n':
				(*m)[name] = ""
			case v.Kind() == '"':
				(*m)[name] = v.String()
			default:
				return fmt.Errorf("%v where a string belongs, in %q", v.Kind(), name)
			}
		}
		_, err = dec.ReadToken()
		return err
	}))
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
	changes []*Change
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
	b.changes = make([]*Change, len(b.fcs))
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
