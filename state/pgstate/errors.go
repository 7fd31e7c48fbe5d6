package pgstate

import "fmt"

// stateError is one finished sentence that wraps the state sentinel
// classifying it (state.ErrCorrupt, state.ErrNotLocked, ...) and an
// optional cause, like package state's own errors.
type stateError struct {
	msg   string
	kind  error
	cause error
}

func (e *stateError) Error() string { return e.msg }

func (e *stateError) Unwrap() []error {
	errs := make([]error, 0, 2)
	if e.kind != nil {
		errs = append(errs, e.kind)
	}
	if e.cause != nil {
		errs = append(errs, e.cause)
	}
	return errs
}

// errorf builds a stateError; format must not contain %w. The message is
// prefixed with "pgstate: ".
func errorf(kind, cause error, format string, args ...any) error {
	return &stateError{msg: "pgstate: " + fmt.Sprintf(format, args...), kind: kind, cause: cause}
}
