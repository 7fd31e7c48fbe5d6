package plan

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"maps"
)

// The plan file is JSON Lines so that it can be written and shown as a
// stream: the first line is the header (a [Plan] without its changes),
// then one line per [Change], then a trailer line
//
//	{"checksum":{"changes":N,"sha256":"…","hmac_sha256":"…"}}
//
// whose sha256 covers every byte before the trailer (corruption) and whose
// hmac_sha256 is keyed with the state's sign key (tampering: only someone
// holding the state can produce it).
//
// The file is written gzip-compressed (level 1: fast, and most of a
// large plan is repeated structure); readers accept it compressed or not.
//
// To keep large plans small, a change's list attributes are stored as
// their difference: in the file, Before.Lists holds only the removed
// values and After.Lists only the added ones (a create keeps its whole
// list; a delete keeps none). [AttrChanges] gives the same result on
// either form, and apply sends Payload, which is always complete. A
// create's list that its Payload holds verbatim under a top-level key is
// stored once, in the Payload (see Change.PayloadLists).

// ErrCorrupt is returned when a plan file is truncated, not a plan file,
// or its checksum does not match its content.
var ErrCorrupt = errors.New("plan file is corrupt")

// ErrTampered is returned by [File.Verify] when the checksum matches but
// the signature does not: the file was edited, or made against another
// state.
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
	w       *bufio.Writer
	gz      *gzip.Writer
	sum     hash.Hash
	mac     hash.Hash
	changes int
	enc     *json.Encoder
}

// NewWriter writes p's header to w; signKey keys the trailer's HMAC.
// Changes are written with [Writer.Change], and the file ends with
// [Writer.Close]. p.Changes is ignored.
func NewWriter(w io.Writer, p *Plan, signKey []byte) (*Writer, error) {
	gz, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
	pw := &Writer{gz: gz, w: bufio.NewWriterSize(gz, 256<<10), sum: sha256.New(), mac: hmac.New(sha256.New, signKey)}
	pw.enc = json.NewEncoder(io.MultiWriter(pw.w, pw.sum, pw.mac))
	pw.enc.SetEscapeHTML(false)
	hdr := *p
	hdr.FormatVersion = FormatVersion
	if err := pw.enc.Encode(&hdr); err != nil {
		return nil, fmt.Errorf("plan: write header: %w", err)
	}
	return pw, nil
}

// Change appends one change (its lists stored as differences).
func (pw *Writer) Change(c *Change) error {
	pw.changes++
	if err := pw.enc.Encode(compactLists(c)); err != nil {
		return fmt.Errorf("plan: write change %s %s: %w", c.Kind, c.Name(), err)
	}
	return nil
}

// Close writes the trailer and flushes. It does not close the underlying
// writer.
func (pw *Writer) Close() error {
	var t trailer
	t.Checksum.Changes = pw.changes
	t.Checksum.SHA256 = hex.EncodeToString(pw.sum.Sum(nil))
	t.Checksum.HMAC = hex.EncodeToString(pw.mac.Sum(nil))
	b, _ := json.Marshal(&t)
	if _, err := pw.w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("plan: write trailer: %w", err)
	}
	if err := pw.w.Flush(); err != nil {
		return fmt.Errorf("plan: write: %w", err)
	}
	if err := pw.gz.Close(); err != nil {
		return fmt.Errorf("plan: write: %w", err)
	}
	return nil
}

// compactLists returns c with each list of Before and After replaced by
// its difference (see the file format notes); c is not modified.
func compactLists(c *Change) *Change {
	hasLists := (c.Before != nil && len(c.Before.Lists) > 0) || (c.After != nil && len(c.After.Lists) > 0)
	if !hasLists {
		return c
	}
	if c.Action == Create {
		return listsInPayload(c)
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

// listsInPayload returns c without the lists of After that its Payload
// holds verbatim under a top-level key (a group's members, thousands of
// ids), recording the key in PayloadLists; c is not modified.
func listsInPayload(c *Change) *Change {
	if c.After == nil || len(c.Payload) == 0 {
		return c
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(c.Payload, &top) != nil {
		return c
	}
	var keys map[string]string
	a := *c.After
	for name, list := range c.After.Lists {
		enc, err := json.Marshal(list)
		if err != nil {
			continue
		}
		for k, raw := range top {
			if bytes.Equal(raw, enc) {
				if keys == nil {
					keys = map[string]string{}
					a.Lists = maps.Clone(c.After.Lists)
				}
				keys[name] = k
				delete(a.Lists, name)
				break
			}
		}
	}
	if keys == nil {
		return c
	}
	cp := *c
	cp.After, cp.PayloadLists = &a, keys
	return &cp
}

// restoreLists undoes listsInPayload on a change read from a file.
func restoreLists(c *Change) error {
	if c.PayloadLists == nil {
		return nil
	}
	var top map[string]json.RawMessage
	if c.After == nil || json.Unmarshal(c.Payload, &top) != nil {
		return errors.New("payload_lists without an object payload")
	}
	if c.After.Lists == nil {
		c.After.Lists = map[string][]string{}
	}
	for name, key := range c.PayloadLists {
		var list []string
		if err := json.Unmarshal(top[key], &list); err != nil || top[key] == nil {
			return fmt.Errorf("payload_lists names %q, which the payload does not hold as a list", key)
		}
		c.After.Lists[name] = list
	}
	c.PayloadLists = nil
	return nil
}

// Write writes p with all its changes.
func Write(w io.Writer, p *Plan, signKey []byte) error {
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

// Decode reads a plan file as a stream: header is called once with the
// plan's header, then change once for each change in file order. It
// returns ErrCorrupt (wrapped) when the file ends early, holds something
// that is not a plan line, or its checksum does not match; a caller that
// streams output must therefore treat everything it printed as void when
// Decode fails. A header with another format version is rejected before
// any callback. When signKey is not nil, the signature is checked too and
// a mismatch returns ErrTampered.
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
	var mac hash.Hash
	if signKey != nil {
		mac = hmac.New(sha256.New, signKey)
	}
	n := 0
	changes := 0
	for {
		line, err := br.ReadBytes('\n')
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
			var t trailer
			if err := json.Unmarshal(line, &t); err != nil {
				return fmt.Errorf("%w: unreadable checksum line: %v", ErrCorrupt, err)
			}
			if got := hex.EncodeToString(sum.Sum(nil)); got != t.Checksum.SHA256 || t.Checksum.Changes != changes {
				return fmt.Errorf("%w: its checksum does not match its content (edited or damaged)", ErrCorrupt)
			}
			if _, err := br.ReadByte(); err != io.EOF {
				return fmt.Errorf("%w: data after the checksum line", ErrCorrupt)
			}
			if mac != nil {
				want, _ := hex.DecodeString(t.Checksum.HMAC)
				if !hmac.Equal(mac.Sum(nil), want) {
					return ErrTampered
				}
			}
			return nil
		}
		sum.Write(line)
		if mac != nil {
			mac.Write(line)
		}
		if n == 0 {
			var probe struct {
				FormatVersion *int `json:"format_version"`
			}
			if json.Unmarshal(line, &probe) != nil || probe.FormatVersion == nil {
				return fmt.Errorf("%w: it does not start with an ldapply plan header", ErrCorrupt)
			}
			if *probe.FormatVersion != FormatVersion {
				return fmt.Errorf("plan file has format version %d, and this ldapply reads only version %d: use the ldapply version that made it, or run plan again", *probe.FormatVersion, FormatVersion)
			}
			var p Plan
			if err := json.Unmarshal(line, &p); err != nil {
				return fmt.Errorf("%w: header: %v", ErrCorrupt, err)
			}
			if err := header(&p); err != nil {
				return err
			}
		} else {
			var c Change
			if err := json.Unmarshal(line, &c); err != nil {
				return fmt.Errorf("%w: change %d: %v", ErrCorrupt, n, err)
			}
			if err := restoreLists(&c); err != nil {
				return fmt.Errorf("%w: change %d: %v", ErrCorrupt, n, err)
			}
			changes++
			if err := change(&c); err != nil {
				return err
			}
		}
		n++
	}
}
