package unit_test

import (
	"crypto/sha1"
	"strings"
	"testing"

	"github.com/flota-dev/flota/unit"
)

const helloNormalized = "[Unit]\nDescription=Hello\n\n[Service]\nExecStart=/bin/sh -c \"echo hi\"\n"

func TestHashIsSHA1OfNormalizedText(t *testing.T) {
	f, err := unit.Parse("hello.service", []byte(helloNormalized))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(f.Bytes()); got != helloNormalized {
		t.Fatalf("Bytes = %q, want %q", got, helloNormalized)
	}
	want := unit.Hash(sha1.Sum([]byte(helloNormalized)))
	if f.Hash != want {
		t.Errorf("Hash = %s, want %s", f.Hash, want)
	}
	if got := f.Hash.String(); got != "6aa920f4dd2f96ef024ba9d89778f9713910f595" {
		t.Errorf("String = %s", got)
	}
	h, err := unit.HashOf([]byte(helloNormalized))
	if err != nil || h != f.Hash {
		t.Errorf("HashOf = %s, %v; want %s", h, err, f.Hash)
	}
}

func TestHashNormalization(t *testing.T) {
	variants := []struct{ name, text string }{
		{"normalized", helloNormalized},
		{"comments", "# hello\n; again\n[Unit]\n# a comment \\\n continued comment\nDescription=Hello\n\n[Service]\n; c\nExecStart=/bin/sh -c \"echo hi\"\n"},
		{"whitespace", "\n\n[Unit]  \n   Description   =   Hello   \n\n\n\n[Service]\n\tExecStart=  /bin/sh -c \"echo hi\"\t\n\n"},
		{"no final newline", "[Unit]\nDescription=Hello\n[Service]\nExecStart=/bin/sh -c \"echo hi\""},
		{"CRLF", "[Unit]\r\nDescription=Hello\r\n\r\n[Service]\r\nExecStart=/bin/sh -c \"echo hi\"\r\n"},
		{"empty section dropped", "[Unit]\nDescription=Hello\n[Install]\n[Service]\nExecStart=/bin/sh -c \"echo hi\"\n"},
		{"empty headers ignored", "[Unit]\n[Service]\n[Unit]\nDescription=Hello\n[Service]\nExecStart=/bin/sh -c \"echo hi\"\n"},
	}
	want, err := unit.HashOf([]byte(helloNormalized))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			f, err := unit.Parse("hello.service", []byte(v.text))
			if err != nil {
				t.Fatal(err)
			}
			if f.Hash != want {
				t.Errorf("Hash = %s, want %s; Bytes = %q", f.Hash, want, f.Bytes())
			}
		})
	}
	t.Run("split section joins in first-seen order", func(t *testing.T) {
		f, err := unit.Parse("x.service", []byte("[B]\nb=1\n[A]\na=1\n[B]\nc=2\n"))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := string(f.Bytes()), "[B]\nb=1\nc=2\n\n[A]\na=1\n"; got != want {
			t.Errorf("Bytes = %q, want %q", got, want)
		}
	})
	differ := []struct{ name, text string }{
		{"value", strings.Replace(helloNormalized, "hi", "ho", 1)},
		{"option order", "[Unit]\nDescription=Hello\nAfter=x\nBefore=y\n"},
		{"section order", "[Service]\nExecStart=/bin/sh -c \"echo hi\"\n\n[Unit]\nDescription=Hello\n"},
		{"name case", strings.Replace(helloNormalized, "Description", "description", 1)},
	}
	for _, d := range differ {
		t.Run("differs by "+d.name, func(t *testing.T) {
			h, err := unit.HashOf([]byte(d.text))
			if err != nil {
				t.Fatal(err)
			}
			if h == want {
				t.Errorf("same hash as the original")
			}
		})
	}
	t.Run("option order matters", func(t *testing.T) {
		a, _ := unit.HashOf([]byte("[Unit]\nAfter=x\nBefore=y\n"))
		b, _ := unit.HashOf([]byte("[Unit]\nBefore=y\nAfter=x\n"))
		if a == b {
			t.Error("reordered options hash the same")
		}
	})
}

func TestHashForms(t *testing.T) {
	h, err := unit.HashOf([]byte(helloNormalized))
	if err != nil {
		t.Fatal(err)
	}
	s := h.String()
	t.Run("String", func(t *testing.T) {
		if len(s) != 40 || strings.ToLower(s) != s {
			t.Errorf("String = %q", s)
		}
	})
	t.Run("Short", func(t *testing.T) {
		if h.Short() != s[:7] {
			t.Errorf("Short = %q, want %q", h.Short(), s[:7])
		}
	})
	t.Run("IsZero", func(t *testing.T) {
		if h.IsZero() || !(unit.Hash{}).IsZero() {
			t.Error("IsZero wrong")
		}
		if got := (unit.Hash{}).Short(); got != "0000000" {
			t.Errorf("zero Short = %q", got)
		}
	})
	parse := []struct {
		name, in string
		ok       bool
	}{
		{"round trip", s, true},
		{"upper case", strings.ToUpper(s), true},
		{"empty", "", false},
		{"short form", s[:7], false},
		{"too long", s + "0", false},
		{"not hex", "g" + s[1:], false},
	}
	for _, p := range parse {
		t.Run("ParseHash "+p.name, func(t *testing.T) {
			got, err := unit.ParseHash(p.in)
			if (err == nil) != p.ok {
				t.Fatalf("ParseHash(%q) err = %v, want ok=%v", p.in, err, p.ok)
			}
			if p.ok && got != h {
				t.Errorf("ParseHash = %s, want %s", got, h)
			}
		})
	}
}
