package plan

// SetLinesAhead sets how many bytes of lines Write's workers may make
// ahead of the writer, until the returned function restores it.
func SetLinesAhead(n int) (restore func()) {
	old := linesAhead
	linesAhead = n
	return func() { linesAhead = old }
}
