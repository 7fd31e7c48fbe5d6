package planfile

import (
	"io"

	"github.com/ldapply/ldapply/plan"
)

// WriteSequential and DecodeSequential are Write and Decode without
// their workers: the plain versions the concurrent ones must match.
func WriteSequential(w io.Writer, p *plan.Plan, signKey []byte) error {
	return writeSequential(w, p, signKey)
}

func DecodeSequential(r io.Reader, signKey []byte, header func(*plan.Plan) error, change func(*plan.Change) error) error {
	return decode(r, signKey, header, change, false)
}

// SetLinesAhead sets how many bytes of lines Write's workers may make
// ahead of the writer, until the returned function restores it.
func SetLinesAhead(n int) (restore func()) { return setLinesAhead(n) }
