package unit

import (
	"bytes"
	"crypto/sha1"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	sdunit "github.com/coreos/go-systemd/v22/unit"
)

// File is a parsed, validated unit file. It holds only exported data, so
// other packages can build, compare and copy Files freely.
type File struct {
	Name     string
	Options  []*sdunit.UnitOption
	Hash     Hash
	Fleet    Requirements
	Warnings []string // e.g. `unrecognized requirement in [X-Fleet] section: "Foo"`
	// Container is the [X-Container] section, checked with the rest of the
	// unit (see Container); nil when the unit has none.
	Container *Container
	// Resources is what the unit reserves on its machine (see Resources).
	Resources Resources
}

// Parse reads a unit file submitted as name: it checks the name, reads the
// options with go-systemd (as fleet did, so the same files hash the same),
// refusing what go-systemd would misread (text that is not UTF-8, a section
// header not closed on its line), and reads and checks the [X-Fleet] and
// [X-Container] sections for this name, and the resources the unit
// reserves.
func Parse(name string, data []byte) (*File, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	n, err := normalize(name, data)
	if err != nil {
		return nil, err
	}
	req, warnings, err := parseFleet(name, n.opts, n.lines)
	if err != nil {
		return nil, err
	}
	c, err := parseContainer(name, n.opts, n.lines)
	if err != nil {
		return nil, err
	}
	res, err := parseResources(name, n.opts, n.lines, c)
	if err != nil {
		return nil, err
	}
	return &File{
		Name:      name,
		Options:   n.opts,
		Hash:      sha1.Sum(n.text),
		Fleet:     req,
		Warnings:  append(n.warnings, warnings...),
		Container: c,
		Resources: res,
	}, nil
}

// ForName returns the same content under another name, as when an instance
// uses its template's file: the name is checked again and the [X-Fleet]
// and [X-Container] specifiers are resolved for it, and the Hash stays the same, since the
// text is the same. Errors carry no line, as a File keeps no text; to show
// a user the line, Parse the template's text under the instance's name.
func (f *File) ForName(name string) (*File, error) {
	if f == nil {
		return nil, unitError(name, 0, "no unit file")
	}
	req, warnings, err := ParseOptions(name, f.Options)
	if err != nil {
		return nil, err
	}
	c, err := parseContainer(name, f.Options, nil)
	if err != nil {
		return nil, err
	}
	res, err := parseResources(name, f.Options, nil, c)
	if err != nil {
		return nil, err
	}
	return &File{Name: name, Options: f.Options, Hash: f.Hash, Fleet: req, Warnings: warnings, Container: c, Resources: res}, nil
}

// Bytes returns the normalized text: what `cat` prints, what the agent
// writes for systemd, and what Hash is the hash of.
func (f *File) Bytes() []byte {
	if f == nil {
		return nil
	}
	return serialize(f.Options)
}

// Description returns the last [Unit] Description=, as fleet did, or "".
func (f *File) Description() string {
	if f == nil {
		return ""
	}
	desc := ""
	for _, o := range f.Options {
		if o != nil && o.Section == "Unit" && o.Name == "Description" {
			desc = o.Value
		}
	}
	return desc
}

// normalized is a unit file read and checked, before [X-Fleet].
type normalized struct {
	opts     []*sdunit.UnitOption
	text     []byte
	lines    []int
	warnings []string
}

// normalize reads data with go-systemd and serializes it back, refusing the
// few files whose normalized text would not read back as the same options:
// without that, `cat` would print, and the agent would hand systemd, a file
// that means something else than the one that was hashed and scheduled.
func normalize(name string, data []byte) (*normalized, error) {
	if line, col, b := invalidUTF8(data); line > 0 {
		// systemd ignores an assignment that is not UTF-8, and go-systemd
		// writes each bad byte of a name as U+FFFD: the machine would run,
		// and `cat` show, something else than the file that was submitted.
		return nil, unitError(name, line, "invalid UTF-8: byte %#02x at column %d (a unit file must be UTF-8 text)", b, col)
	}
	opts, err := sdunit.DeserializeOptions(bytes.NewReader(data))
	sc := scan(data)
	if err != nil {
		return nil, syntaxError(name, data, sc, err)
	}
	if line := longLine(data); line > 0 {
		return nil, unitError(name, line, "%v", sdunit.ErrLineTooLong)
	}
	if sc.openHeader > 0 {
		// systemd reads a header line by line and would ignore this one
		// and the options under it; go-systemd makes them part of a
		// section's name.
		return nil, unitError(name, sc.openHeader, "section header is not closed on its line: want [Name]")
	}
	if len(opts) == 0 && sc.outsideLine > 0 {
		// The file's only text is outside any section, where go-systemd
		// drops it: "empty" would send the user looking for the wrong thing.
		return nil, unitError(name, sc.outsideLine, "text outside any section: options go under a section header such as [Service]")
	}
	if len(opts) == 0 {
		return nil, unitError(name, 0, "unit file is empty")
	}
	lines := sc.optLines
	if len(lines) != len(opts) {
		lines = nil // should not happen; better no line than a wrong one
	}
	for i, o := range opts {
		line := lineAt(lines, i)
		if strings.HasSuffix(o.Value, `\`) {
			// The value ended in a backslash that go-systemd did not take as
			// a continuation ("X=a\ " or at the end of the file); written
			// back it would swallow the next line.
			return nil, unitError(name, line, "value of %s ends in a backslash that does not continue the line", o.Name)
		}
		if longLine([]byte(o.Name+"="+o.Value)) > 0 || longLine([]byte("["+o.Section+"]")) > 0 {
			// With the text valid UTF-8 and each header on its own line,
			// a normalized line is never longer than the line it came
			// from. This guard keeps it so whatever go-systemd writes:
			// `cat` must never print a line systemd refuses.
			return nil, unitError(name, line, "%v", sdunit.ErrLineTooLong)
		}
	}
	n := &normalized{opts: opts, text: serialize(opts), lines: lines}
	if sc.outsideLine > 0 {
		// systemd, too, ignores it with a warning.
		n.warnings = append(n.warnings, fmt.Sprintf("line %d: text outside any section is ignored", sc.outsideLine))
	}
	return n, nil
}

// syntaxError turns a go-systemd error into an *Error with the line scan
// found for it.
func syntaxError(name string, data []byte, sc scanResult, err error) *Error {
	line := sc.errLine
	if errors.Is(err, sdunit.ErrLineTooLong) {
		line = longLine(data)
	}
	msg := err.Error()
	if errors.Is(err, io.EOF) {
		// go-systemd passes the reader's EOF through when the file ends in
		// the middle of an option name.
		msg = "unexpected end of file while parsing option name"
	}
	return &Error{Unit: name, Line: line, Msg: msg, Kind: ErrInvalidUnit}
}

// serialize is go-systemd's Serialize, which is what fleet hashed.
func serialize(opts []*sdunit.UnitOption) []byte {
	clean := make([]*sdunit.UnitOption, 0, len(opts))
	for _, o := range opts {
		if o != nil {
			clean = append(clean, o)
		}
	}
	b, _ := io.ReadAll(sdunit.Serialize(clean)) // reading a bytes.Buffer cannot fail
	return b
}

// invalidUTF8 returns where the first byte of data that is not part of
// valid UTF-8 is, as a 1-based line and column (in bytes), and that byte;
// line 0 if data is valid.
func invalidUTF8(data []byte) (line, col int, b byte) {
	if utf8.Valid(data) {
		return 0, 0, 0
	}
	line, start := 1, 0
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			return line, i - start + 1, data[i]
		case r == '\n':
			line, start = line+1, i+1
		}
		i += size
	}
	return 0, 0, 0 // not reached: utf8.Valid found a bad byte
}

func lineAt(lines []int, i int) int {
	if i < len(lines) {
		return lines[i]
	}
	return 0
}
