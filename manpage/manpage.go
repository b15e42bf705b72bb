package manpage

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"
)

// Page is one man page.
type Page struct {
	Name     string // flotactl
	Section  int    // 1, 8
	Date     string // YYYY-MM-DD, of the source it describes
	Version  string
	Summary  string // the NAME line's text after the dash
	Synopsis string
	Sections []Section
}

// Section is one .SH of a page: text paragraphs (blank-line separated),
// then flags, then sub-sections.
type Section struct {
	Title string
	Text  string
	Flags *pflag.FlagSet
	Subs  []Section // .SS, one level
}

// Write writes p as roff.
func (p Page) Write(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, ".TH %s %d %q %q %q\n", strings.ToUpper(p.Name), p.Section, p.Date, p.Name+" "+p.Version, "flota")
	b.WriteString(".SH NAME\n" + escape(p.Name) + " \\- " + escape(p.Summary) + "\n")
	b.WriteString(".SH SYNOPSIS\n.B " + escape(p.Synopsis) + "\n")
	for _, s := range p.Sections {
		writeSection(&b, s)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeSection writes s; its sub-sections' titles keep their case (they
// are command lines).
func writeSection(b *strings.Builder, s Section) {
	b.WriteString(".SH " + escape(strings.ToUpper(s.Title)) + "\n")
	writeText(b, s.Text)
	if s.Flags != nil {
		writeFlags(b, s.Flags)
	}
	for _, sub := range s.Subs {
		b.WriteString(".SS " + escape(sub.Title) + "\n")
		writeText(b, sub.Text)
		if sub.Flags != nil && sub.Flags.HasFlags() {
			writeFlags(b, sub.Flags)
		}
	}
}

// writeText writes paragraphs (blank-line separated), filled, but an
// indented line breaks before it: the descriptions' tables and examples.
func writeText(b *strings.Builder, text string) {
	for _, para := range strings.Split(strings.TrimSpace(text), "\n\n") {
		if strings.TrimSpace(para) == "" {
			continue
		}
		b.WriteString(".PP\n")
		for _, line := range strings.Split(para, "\n") {
			if strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t") {
				b.WriteString(".br\n") // an indented line is a row of its own (a table, an example)
			}
			b.WriteString(escape(strings.TrimSpace(line)) + "\n")
		}
	}
}

// writeFlags writes each flag as a tagged paragraph: its names, its
// value's type, its default and its usage, as pflag's FlagUsages has them.
func writeFlags(b *strings.Builder, fs *pflag.FlagSet) {
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		b.WriteString(".TP\n")
		name := `\fB\-\-` + escape(f.Name) + `\fR`
		if f.Shorthand != "" {
			name = `\fB\-` + escape(f.Shorthand) + `\fR, ` + name
		}
		varname, usage := pflag.UnquoteUsage(f)
		if varname != "" {
			name += ` \fI` + escape(varname) + `\fR`
		}
		b.WriteString(name + "\n" + escape(usage))
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "[]" && f.DefValue != "0" {
			b.WriteString(" (default: " + escape(f.DefValue) + ")")
		}
		b.WriteString("\n")
	})
}

// escape makes text safe for roff: backslashes doubled, hyphens as
// minus signs, and a line's leading dot or quote protected.
func escape(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}
