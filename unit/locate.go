package unit

import (
	"bytes"
	"unicode"
	"unicode/utf8"

	sdunit "github.com/coreos/go-systemd/v22/unit"
)

// go-systemd's Deserialize reports neither the line of an error nor the
// line each option came from, and users need both to fix a file. scan
// walks the raw text with the same state machine as go-systemd's lexer
// (deserialize.go in v22), step for step, and records lines instead of
// values. Parse trusts its option lines only when it found exactly as many
// options as go-systemd did; the fuzz target checks the two agree.

// scanResult is what scan learned about the raw text.
type scanResult struct {
	optLines    []int // 1-based line of each option, in go-systemd's order
	errLine     int   // line where go-systemd's lexer fails, 0 if it does not
	outsideLine int   // first line with text before the first section, 0 if none
	// openHeader is the first line whose section header is not closed on
	// it ("[Unit" alone): go-systemd reads on to the next ']', making a
	// section named "Unit\nDescription=..." of the lines between. 0 if none.
	openHeader int
}

type scanner struct {
	data []byte
	pos  int
	line int
}

func scan(data []byte) scanResult {
	s := &scanner{data: data, line: 1}
	var res scanResult
	inSection := false
	for s.pos < len(s.data) {
		line := s.line
		r, size := utf8.DecodeRune(s.data[s.pos:])
		s.pos += size
		if r == '\n' {
			s.line++
		}
		switch {
		case r == '[':
			bad, open := s.sectionHeader()
			if bad != 0 {
				res.errLine = bad
				return res
			}
			if open != 0 && res.openHeader == 0 {
				res.openHeader = open
			}
			inSection = true
		case r == '#' || r == ';':
			s.skipComment()
		case !inSection:
			// go-systemd drops everything before the first '[' without a
			// word; note it so the user learns that text had no effect.
			if res.outsideLine == 0 && !unicode.IsSpace(r) {
				res.outsideLine = line
			}
		case unicode.IsSpace(r):
		default:
			s.pos -= size // go-systemd's UnreadRune: the rune starts the name
			if !s.optionName() {
				res.errLine = line
				return res
			}
			res.optLines = append(res.optLines, line)
			s.optionValue()
		}
	}
	return res
}

// toEOL mirrors go-systemd's toEOL: the rest of the line without its '\n';
// a '\r' before the '\n' is kept, a '\r' ending the file is not.
func (s *scanner) toEOL() (line []byte, eof bool) {
	rest := s.data[s.pos:]
	if i := bytes.IndexByte(rest, '\n'); i >= 0 {
		s.pos += i + 1
		s.line++
		return rest[:i], false
	}
	s.pos = len(s.data)
	return bytes.TrimSuffix(rest, []byte{'\r'}), true
}

// sectionHeader consumes "name]" and the rest of its line after a '[',
// returning the line of the error go-systemd would report, or 0, and the
// header's line if go-systemd found its ']' on a later line, or 0.
func (s *scanner) sectionHeader() (bad, open int) {
	start := s.line
	i := bytes.IndexByte(s.data[s.pos:], ']')
	if i < 0 {
		return start, 0 // "unable to find end of section"
	}
	breaks := bytes.Count(s.data[s.pos:s.pos+i], []byte{'\n'})
	s.line += breaks
	s.pos += i + 1
	closing := s.line
	if rest, _ := s.toEOL(); len(bytes.TrimSpace(rest)) > 0 {
		return closing, 0 // "found garbage after section name"
	}
	if breaks > 0 {
		open = start
	}
	return 0, open
}

// skipComment consumes a comment, which like a value continues onto the
// next line when it ends in a backslash.
func (s *scanner) skipComment() {
	for {
		line, eof := s.toEOL()
		line = bytes.TrimSuffix(line, []byte{' '})
		if eof || !bytes.HasSuffix(line, []byte{'\\'}) {
			return
		}
	}
}

// optionName consumes a name up to its '='; false where go-systemd fails
// (a newline or the end of the file comes first).
func (s *scanner) optionName() bool {
	i := bytes.IndexAny(s.data[s.pos:], "=\n\r")
	if i < 0 || s.data[s.pos+i] != '=' {
		return false
	}
	s.pos += i + 1
	return true
}

// optionValue consumes a value and its continuation lines.
func (s *scanner) optionValue() {
	for {
		line, eof := s.toEOL()
		if eof || len(bytes.TrimSpace(line)) == 0 || !bytes.HasSuffix(line, []byte{'\\'}) {
			return
		}
	}
}

// longLine returns the 1-based line of the first line longer than systemd
// accepts, 0 if there is none. go-systemd checks for this only at some
// offsets of its read buffer, so whether it notices a long line depends on
// where the line falls in the file; checking every line here makes the
// answer depend on the content alone (and keeps the normalized text, where
// the line moves, acceptable whenever the original was). A line is the
// text between line breaks ('\r' counts, as it does for go-systemd); with
// its break it may take SYSTEMD_LINE_MAX bytes.
func longLine(data []byte) int {
	line, run := 1, 0
	for _, c := range data {
		switch c {
		case '\n':
			line++
			run = 0
		case '\r':
			run = 0
		default:
			run++
			if run >= sdunit.SYSTEMD_LINE_MAX {
				return line
			}
		}
	}
	return 0
}
