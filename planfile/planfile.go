package planfile

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
	"runtime"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/klauspost/compress/gzip"
	"github.com/ldapply/ldapply/plan"
)

// FormatVersion is the plan file format this build writes and the only
// one it reads.
const FormatVersion = 4

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

// Writer writes a plan file change by change.
type Writer struct {
	w       *bufio.Writer // in front of gz
	gz      *gzip.Writer
	sum     hash.Hash
	signKey []byte
	enc     lineEncoder
	buf     []byte // scratch for a line
}

// NewWriter writes p's header to w; signKey keys the trailer's HMAC.
// Changes are written with [Writer.Change], and the file ends with
// [Writer.Close], which must be called unless NewWriter or Change failed.
// p.Changes is ignored.
func NewWriter(w io.Writer, p *plan.Plan, signKey []byte) (*Writer, error) {
	gz, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
	pw := &Writer{gz: gz, sum: sha256.New(), signKey: signKey, enc: lineEncoder{ids: map[string]int{}}}
	pw.w = bufio.NewWriterSize(gz, 256<<10)
	// The refs (one per member of a large plan) are appended by hand,
	// after the rest of the header.
	hdr := *p
	hdr.FormatVersion = FormatVersion
	hdr.Changes = nil
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&hdr); err != nil {
		return nil, fmt.Errorf("plan file: write header: %w", err)
	}
	line := bytes.TrimSuffix(buf.Bytes(), []byte("}\n"))
	if len(p.Refs.Names) > 0 || len(p.Refs.Via) > 0 || len(p.Refs.Attrs) > 0 {
		line = appendRefs(append(line, `,"refs":`...), &p.Refs)
	}
	if err := pw.line(append(line, "}\n"...)); err != nil {
		return nil, fmt.Errorf("plan file: write header: %w", err)
	}
	return pw, nil
}

// Change appends one change (see the package documentation for how its
// lists are stored).
func (pw *Writer) Change(c *plan.Change) error {
	line := appendFileChange(pw.buf[:0], pw.enc.fileChange(c))
	pw.buf = line
	if err := pw.line(append(line, '\n')); err != nil {
		return fmt.Errorf("plan file: write change %s %s: %w", c.Kind, c.Name(), err)
	}
	pw.enc.add(c.ID)
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
	t.Checksum.Changes = pw.enc.n
	sum := pw.sum.Sum(nil)
	t.Checksum.SHA256 = hex.EncodeToString(sum)
	t.Checksum.HMAC = hex.EncodeToString(sign(pw.signKey, sum))
	b, _ := json.Marshal(&t)
	_, err := pw.w.Write(append(b, '\n'))
	if err := errors.Join(err, pw.w.Flush(), pw.gz.Close()); err != nil {
		return fmt.Errorf("plan file: write: %w", err)
	}
	return nil
}

// sign returns the trailer's signature of a file whose sha256 is sum.
func sign(key, sum []byte) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write(sum)
	return mac.Sum(nil)
}

// Write writes p with all its changes. On two cores or more, the lines
// of a large plan are made on every core, starting while the header is
// (see lineMaker); the file is the same.
func Write(w io.Writer, p *plan.Plan, signKey []byte) error {
	m := startLines(p.Changes)
	if m == nil {
		return writeSequential(w, p, signKey)
	}
	pw, err := NewWriter(w, p, signKey)
	if err != nil {
		m.stop()
		return err
	}
	if err := pw.writeLines(m); err != nil {
		return err
	}
	return pw.Close()
}

// writeSequential writes p change by change.
func writeSequential(w io.Writer, p *plan.Plan, signKey []byte) error {
	pw, err := NewWriter(w, p, signKey)
	if err != nil {
		return err
	}
	for i := range p.Changes {
		if err := pw.Change(&p.Changes[i]); err != nil {
			return err
		}
	}
	return pw.Close()
}

// Read reads a whole plan file into memory and checks its checksum, and
// its signature when signKey is not nil.
func Read(r io.Reader, signKey []byte) (*plan.Plan, error) {
	var p *plan.Plan
	err := Decode(r, signKey, func(h *plan.Plan) error { p = h; return nil }, func(c *plan.Change) error {
		p.Changes = append(p.Changes, *c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Decode reads a plan file as a stream: header is called once with the
// plan's header, then change once for each change in file order. It
// returns ErrCorrupt (wrapped) when the file ends early, holds something
// that is not a plan line, or its checksum does not match; a caller that
// streams output must therefore treat everything it printed as void when
// Decode fails. A header with another format version is rejected before
// any callback. When signKey is not nil, the signature is checked too and
// a mismatch returns ErrTampered. The callbacks run on the caller's
// goroutine; on two cores or more, lines are unmarshaled ahead on
// others (see decodeConcurrent).
func Decode(r io.Reader, signKey []byte, header func(*plan.Plan) error, change func(*plan.Change) error) error {
	return decode(r, signKey, header, change, runtime.GOMAXPROCS(0) >= 2)
}

// decode is Decode, with lines unmarshaled ahead when ahead is set.
func decode(r io.Reader, signKey []byte, header func(*plan.Plan) error, change func(*plan.Change) error, ahead bool) error {
	br := bufio.NewReaderSize(r, 256<<10)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		defer gz.Close()
		br = bufio.NewReaderSize(gz, 256<<10)
	}
	if !ahead {
		return decodeSequential(br, signKey, header, change)
	}
	return decodeConcurrent(br, signKey, header, change)
}

// decodeSequential decodes the plan file br holds, each line in turn.
func decodeSequential(br *bufio.Reader, signKey []byte, header func(*plan.Plan) error, change func(*plan.Change) error) error {
	sum := sha256.New()
	var ids earlierIDs // of the changes passed on, in order
	var line []byte
	for n := 0; ; n++ {
		var err error
		if line, err = readLine(br, line[:0]); err != nil {
			return err
		}
		if n > 0 && bytes.HasPrefix(line, trailerPrefix) {
			return checkTrailer(br, line, sum.Sum(nil), ids.len(), signKey)
		}
		sum.Write(line)
		if n == 0 {
			p, err := decodeHeader(line)
			if err == nil {
				err = header(p)
			}
			if err != nil {
				return err
			}
			continue
		}
		c, err := decodeChange(line, &ids)
		if err != nil {
			return fmt.Errorf("%w: change %d: %v", ErrCorrupt, n, err)
		}
		ids.own = append(ids.own, c.ID)
		if err := change(c); err != nil {
			return err
		}
	}
}

// readLine appends the next line of br to buf, its newline included.
func readLine(br *bufio.Reader, buf []byte) ([]byte, error) {
	for {
		part, err := br.ReadSlice('\n')
		buf = append(buf, part...)
		switch {
		case err == nil:
			return buf, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == io.EOF && len(buf) == 0:
			return nil, fmt.Errorf("%w: it ends before its checksum line (truncated?)", ErrCorrupt)
		case err == io.EOF:
			return buf, nil // the last line has no newline: the next read ends the file
		case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader):
			return nil, fmt.Errorf("%w: %v (truncated?)", ErrCorrupt, err)
		default:
			return nil, fmt.Errorf("plan file: read: %w", err)
		}
	}
}

// checkTrailer checks the trailer line against the digest of the lines
// before it and the number of changes they held, and that nothing
// follows it.
func checkTrailer(br *bufio.Reader, line, digest []byte, changes int, signKey []byte) error {
	var t trailer
	if err := json.Unmarshal(line, &t); err != nil {
		return fmt.Errorf("%w: unreadable checksum line: %v", ErrCorrupt, err)
	}
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

func decodeHeader(line []byte) (*plan.Plan, error) {
	// One pass: a type error in a header of another version still
	// leaves its version set.
	var h struct {
		plan.Plan
		FormatVersion *int      `json:"format_version"`
		Refs          *fileRefs `json:"refs"`
	}
	refs := min(bytes.Count(line, []byte{':'}), len(line)/len(`"":"",`))
	err := jsonv2.Unmarshal(line, &h, lineOptions, stringMaps(8), refsOptions(refs))
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
	if h.Refs != nil {
		p.Refs = plan.Refs(*h.Refs)
	}
	// What the writer leaves out when empty reads back as nil, whether
	// the line held it empty or not: a plan read twice is the same.
	if len(p.Counts) == 0 {
		p.Counts = nil
	}
	if len(p.Warnings) == 0 {
		p.Warnings = nil
	}
	if len(p.Refs.Names) == 0 {
		p.Refs.Names = nil
	}
	if len(p.Refs.Via) == 0 {
		p.Refs.Via = nil
	}
	if len(p.Refs.Attrs) == 0 {
		p.Refs.Attrs = nil
	}
	return &p, nil
}

// decodeChange returns the change of line; ids are those of the changes
// before it.
func decodeChange(line []byte, ids *earlierIDs) (*plan.Change, error) {
	var fc fileChange
	if err := jsonv2.Unmarshal(line, &fc, lineOptions); err != nil {
		return nil, err
	}
	return fc.change(ids)
}
