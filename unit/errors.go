package unit

import (
	"errors"
	"fmt"
	"strconv"
)

// Sentinels for errors.Is: the Kind of every *Error is one of these.
var (
	ErrInvalidName = errors.New("invalid unit name")
	ErrInvalidUnit = errors.New("invalid unit file")
)

// Error is every validation failure: it names the unit and, where known,
// the 1-based line of the file the failure comes from, so that a user with
// a dozen files in one command knows which one to open and where.
type Error struct {
	Unit string // unit name (may be "" if unknown)
	Line int    // 0 when there is no line
	Msg  string // e.g. `Conflicts cannot be used with Replaces`
	Kind error  // ErrInvalidName or ErrInvalidUnit
}

// Error formats as "unit nginx@.service, line 12: <msg>", dropping the
// parts that are unknown.
func (e *Error) Error() string {
	switch {
	case e.Unit != "" && e.Line > 0:
		return "unit " + e.Unit + ", line " + strconv.Itoa(e.Line) + ": " + e.Msg
	case e.Unit != "":
		return "unit " + e.Unit + ": " + e.Msg
	case e.Line > 0:
		return "line " + strconv.Itoa(e.Line) + ": " + e.Msg
	default:
		return e.Msg
	}
}

// Unwrap returns Kind, so errors.Is(err, ErrInvalidUnit) works.
func (e *Error) Unwrap() error { return e.Kind }

func nameError(name, format string, args ...any) *Error {
	return &Error{Unit: name, Msg: fmt.Sprintf(format, args...), Kind: ErrInvalidName}
}

func unitError(name string, line int, format string, args ...any) *Error {
	return &Error{Unit: name, Line: line, Msg: fmt.Sprintf(format, args...), Kind: ErrInvalidUnit}
}
