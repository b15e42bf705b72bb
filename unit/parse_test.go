package unit_test

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	sdunit "github.com/coreos/go-systemd/v22/unit"

	"github.com/flota-dev/flota/unit"
)

func TestParseMalformed(t *testing.T) {
	long := strings.Repeat("x", 2100)
	tests := []struct {
		name string
		data string
		line int
		msg  string
	}{
		{"empty", "", 0, "unit file is empty"},
		{"only comments", "# nothing\n; here\n", 0, "unit file is empty"},
		{"only sections", "[Unit]\n[Service]\n", 0, "unit file is empty"},
		{"unterminated section", "[Unit]\nDescription=x\n\n[Service\nExecStart=/bin/true\n", 4, "unable to find end of section"},
		{"garbage after section", "[Unit]\nA=1\n[Service] junk\n", 3, `found garbage after section name : "junk"`},
		{"garbage after multi-line section name", "[Un\nit]x\nA=1\n", 2, `found garbage after section name : "x"`},
		{"line without =", "[Unit]\nDescription=x\nExecStart /bin/true\nA=1\n", 3, "unexpected newline encountered while parsing option name"},
		{"CR in option name", "[Unit]\r\nDescription\r\n", 2, "unexpected newline encountered while parsing option name"},
		{"end of file in option name", "[Unit]\nA=1\nDescri", 3, "unexpected end of file while parsing option name"},
		{"line after continuation", "[Unit]\nA=1 \\\n  2 \\\n  3\nB\n", 5, "unexpected newline encountered while parsing option name"},
		{"line after continued comment", "[Unit]\n# x \\\nnot an option either\nB\n", 4, "unexpected newline encountered while parsing option name"},
		{"line too long", "[Unit]\nDescription=" + long + "\n", 2, "line too long (max 2048 bytes)"},
		{"long comment", "[Unit]\nA=1\n\n#" + long + "\n", 4, "line too long (max 2048 bytes)"},
		{"long line go-systemd misses", "[Unit]\nA=" + strings.Repeat("a", 2039) + "\nB=" + long + "\n", 3, "line too long (max 2048 bytes)"},
		{"2048 bytes without the newline", "[Unit]\nA=" + strings.Repeat("a", 2046) + "\n", 2, "line too long (max 2048 bytes)"},
		// go-systemd would write each invalid byte of a name as U+FFFD (3
		// bytes), and systemd ignores an assignment that is not UTF-8.
		{"invalid UTF-8 in a name", "[S]\n" + strings.Repeat("\xff", 700) + "=v\n", 2, "invalid UTF-8: byte 0xff at column 1 (a unit file must be UTF-8 text)"},
		{"invalid UTF-8 in a value", "[Unit]\nDescription=caf\xe9\n", 2, "invalid UTF-8: byte 0xe9 at column 16 (a unit file must be UTF-8 text)"},
		{"truncated UTF-8 at the end", "[Unit]\nA=1\n\nB=\xe2\x82", 4, "invalid UTF-8: byte 0xe2 at column 3 (a unit file must be UTF-8 text)"},
		{"invalid UTF-8 in a comment", "# \xc0\xaf\n[Unit]\nA=1\n", 1, "invalid UTF-8: byte 0xc0 at column 3 (a unit file must be UTF-8 text)"},
		{"invalid UTF-8 before a syntax error", "[Unit\nA=\xff\n", 2, "invalid UTF-8: byte 0xff at column 3 (a unit file must be UTF-8 text)"},
		{"property outside any section", "Description=lost\n", 1, "text outside any section: options go under a section header such as [Service]"},
		{"properties outside any section, after blank lines and comments", "\n# hi\n\nExecStart=/bin/true\nRestart=always\n", 4, "text outside any section: options go under a section header such as [Service]"},
		{"unclosed section header", "[Unit\nDescription=x\n[Service]\nExecStart=/bin/true\n", 1, "section header is not closed on its line: want [Name]"},
		{"unclosed header after good lines", "[Unit]\nDescription=x\n\n[Service\nExecStart=/bin/true\n]\n", 4, "section header is not closed on its line: want [Name]"},
		{"header closed on a later line", "[Un\nit]\nA=1\n", 1, "section header is not closed on its line: want [Name]"},
		{"trailing backslash before blank", "[Service]\nExecStart=/bin/echo \\ \nRestart=always\n", 2, "value of ExecStart ends in a backslash that does not continue the line"},
		{"trailing backslash at end of file", "[Service]\nExecStart=/bin/echo \\", 2, "value of ExecStart ends in a backslash that does not continue the line"},
		// go-systemd does not take "\\\r\n" for a continuation.
		{"CRLF continuation", "[Unit]\r\nA=1\\\r\nB=2\r\n", 2, "value of A ends in a backslash that does not continue the line"},
		{"X-Fleet error after unit lines", "[Unit]\nDescription=x\n[Service]\nExecStart=/bin/true\n[X-Fleet]\nGlobal=sometimes\n", 6, `invalid Global value "sometimes": want true or false`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := unit.Parse("web.service", []byte(tt.data))
			var e *unit.Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse = %v, want *unit.Error", err)
			}
			if !errors.Is(err, unit.ErrInvalidUnit) {
				t.Errorf("not ErrInvalidUnit: %v", err)
			}
			if e.Msg != tt.msg || e.Line != tt.line || e.Unit != "web.service" {
				t.Errorf("got %q at line %d of %q\nwant %q at line %d", e.Msg, e.Line, e.Unit, tt.msg, tt.line)
			}
			if !strings.Contains(err.Error(), "unit web.service") {
				t.Errorf("Error() = %q does not name the unit", err)
			}
			if _, err := unit.HashOf([]byte(tt.data)); err == nil && !strings.Contains(tt.name, "X-Fleet") {
				t.Errorf("HashOf accepted what Parse refused")
			}
		})
	}
}

func TestParseAcceptsWhatFleetAccepted(t *testing.T) {
	tests := []struct {
		name, data, want string
	}{
		{"2047-byte line", "[Unit]\nA=" + strings.Repeat("a", 2045) + "\n", "[Unit]\nA=" + strings.Repeat("a", 2045) + "\n"},
		{"continuation kept verbatim", "[Service]\nExecStart=/bin/sh -c \\\n  'echo hi'\n", "[Service]\nExecStart=/bin/sh -c \\\n  'echo hi'\n"},
		{"continuation then blank line", "[Service]\nExecStart=/bin/true \\\n\nA=1\n", "[Service]\nExecStart=/bin/true \\\n\nA=1\n"},
		{"empty value", "[Unit]\nAfter=\n", "[Unit]\nAfter=\n"},
		{"empty name", "[Unit]\n=x\n", "[Unit]\n=x\n"},
		{"UTF-8, U+FFFD included", "[Unit]\nDescription=café \ufffd\n", "[Unit]\nDescription=café \ufffd\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := unit.Parse("x.service", []byte(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			if got := string(f.Bytes()); got != tt.want {
				t.Errorf("Bytes = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseName(t *testing.T) {
	_, err := unit.Parse("web", []byte("[Unit]\nA=1\n"))
	var e *unit.Error
	if !errors.As(err, &e) || !errors.Is(err, unit.ErrInvalidName) || e.Msg != `unit name must contain "."` {
		t.Errorf("Parse(web) = %v", err)
	}
}

func TestParseWarnings(t *testing.T) {
	tests := []struct {
		name, data string
		warnings   []string
	}{
		{"none", "[Unit]\nA=1\n", nil},
		{"text before the first section", "\n  \nDescription=lost\n[Unit]\nA=1\n", []string{"line 3: text outside any section is ignored"}},
		{"comment before the first section is fine", "# hi\n[Unit]\nA=1\n", nil},
		{"text and X-Fleet warnings in order", "x\n[Unit]\nA=1\n[X-Fleet]\nX-Conflicts=a*\nBar=1\n",
			[]string{"line 1: text outside any section is ignored", "X-Conflicts is deprecated, use Conflicts", `unrecognized requirement in [X-Fleet] section: "Bar"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := unit.Parse("x.service", []byte(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(f.Warnings, tt.warnings) {
				t.Errorf("Warnings = %q, want %q", f.Warnings, tt.warnings)
			}
		})
	}
}

func TestDescription(t *testing.T) {
	tests := []struct{ name, data, want string }{
		{"one", "[Unit]\nDescription=Web server\n", "Web server"},
		{"last wins", "[Unit]\nDescription=a\nDescription=b\n", "b"},
		{"none", "[Unit]\nAfter=x\n", ""},
		{"other section", "[Service]\nDescription=nope\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := unit.Parse("x.service", []byte(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Description(); got != tt.want {
				t.Errorf("Description = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestForName(t *testing.T) {
	tmpl, err := unit.Parse("web@.service", []byte("[Unit]\nDescription=web %i\n\n[X-Fleet]\nConflicts=%p@*.service\nMachineOf=log@%i.service\n"))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("instance", func(t *testing.T) {
		inst, err := tmpl.ForName("web@7.service")
		if err != nil {
			t.Fatal(err)
		}
		want := unit.Requirements{Conflicts: []string{"web@*.service"}, MachineOf: []string{"log@7.service"}}
		if inst.Name != "web@7.service" || inst.Hash != tmpl.Hash || !reflect.DeepEqual(inst.Fleet, want) {
			t.Errorf("ForName = %+v", inst)
		}
		if !bytes.Equal(inst.Bytes(), tmpl.Bytes()) || inst.Description() != "web %i" {
			t.Errorf("content changed: %q", inst.Bytes())
		}
		if tmpl.Name != "web@.service" || tmpl.Fleet.MachineOf != nil {
			t.Errorf("template changed: %+v", tmpl)
		}
	})
	t.Run("bad name", func(t *testing.T) {
		if _, err := tmpl.ForName("web@7"); !errors.Is(err, unit.ErrInvalidName) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("instance-specific error", func(t *testing.T) {
		// Peer log@x.service is fine for the template, but for an instance
		// named so that the peer matches its Conflicts glob it is not.
		f, err := unit.Parse("log@.service", []byte("[Unit]\nA=1\n[X-Fleet]\nMachineOf=db@%i.service\nConflicts=db@x*.service\n"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.ForName("log@xy.service")
		var e *unit.Error
		if !errors.As(err, &e) || e.Unit != "log@xy.service" ||
			e.Msg != `unresolvable requirements: peer "db@xy.service" matches conflict "db@x*.service"` {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("nil file", func(t *testing.T) {
		var f *unit.File
		if _, err := f.ForName("a.service"); !errors.Is(err, unit.ErrInvalidUnit) {
			t.Errorf("err = %v", err)
		}
	})
}

func TestFileBuiltByHand(t *testing.T) {
	f := &unit.File{Name: "x.service", Options: []*sdunit.UnitOption{
		sdunit.NewUnitOption("Unit", "Description", "hand"),
		nil,
		sdunit.NewUnitOption("X-Fleet", "Global", "true"),
	}}
	if got, want := string(f.Bytes()), "[Unit]\nDescription=hand\n\n[X-Fleet]\nGlobal=true\n"; got != want {
		t.Errorf("Bytes = %q, want %q", got, want)
	}
	g, err := f.ForName("y.service")
	if err != nil || !g.Fleet.Global || g.Description() != "hand" {
		t.Errorf("ForName = %+v, %v", g, err)
	}
}
