package unit

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	sdunit "github.com/coreos/go-systemd/v22/unit"
)

// FuzzParse checks, for any input, that nothing panics; that scan (which
// gives lines) agrees with go-systemd (which gives options); and that an
// accepted file reads back from its normalized text as the same unit, since
// that text is what `cat` prints and what the agent hands to systemd.
func FuzzParse(f *testing.F) {
	seeds := []struct{ name, data string }{
		{"web@3.service", "[Unit]\nDescription=web %i\n\n[Service]\nExecStart=/bin/sh -c \\\n  'echo hi'\n\n[X-Fleet]\nConflicts=%p@*.service\nMachineMetadata=\"region=us\" \"zone=a\"\n"},
		{"web@.service", "# c\n[Unit]\r\nA=1\r\n[X-Fleet]\r\nGlobal=true\r\nMachineOf=db@%i.service\r\n"},
		{"x.service", "[X-Fleet]\nMachineID=abc\nX-Conflicts=a* b*\nReplaces=old.service\n"},
		{"x.service", "junk [S]x\n"},
		{"x.service", "[S]\nA=1\\\n\nB=\\ \n"},
		{"x.service", "[S]\n\xffName\xfe=v\n"},
		{"x.service", "[S\n]\n=\n;\\\n#\n"},
		{"x.service", "[Unit]\nA=" + strings.Repeat("a", 2039) + "\nB=" + strings.Repeat("b", 2100) + "\n"},
		{"x.service", ""},
		{"", "[X-Fleet]\nFoo=%q\n"},
		{"web@3.service", "[Service]\nExecStart=-/bin/sh -c \"echo %i\" \\x41\n[X-Container]\nImage=app:1\nVolume=d-%i:/srv/%p:ro\nDiskQuota=2G\nNetwork=private\n"},
		{"web@.service", "[X-Container]\nImage=app:1\nBoot=yes\nVolume=%i:/v\n"},
		{"x.service", "[Service]\nMemoryMax=1G 512M\nMemoryLimit=1.5G\nCPUQuota=12.5%\nMemoryMax=\n"},
	}
	for _, s := range seeds {
		f.Add(s.name, []byte(s.data))
	}
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		checkScan(t, data)

		h, hashErr := HashOf(data)
		file, err := Parse(name, data)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || (e.Kind != ErrInvalidName && e.Kind != ErrInvalidUnit) {
				t.Fatalf("Parse error %v is not a *unit.Error with a known Kind", err)
			}
			return
		}
		if hashErr != nil || h != file.Hash {
			t.Fatalf("HashOf = %s, %v; Parse gave %s", h, hashErr, file.Hash)
		}
		text := file.Bytes()
		again, err := Parse(name, text)
		if err != nil {
			t.Fatalf("normalized text %q does not parse: %v", text, err)
		}
		if again.Hash != file.Hash || !bytes.Equal(again.Bytes(), text) {
			t.Fatalf("hash changed on re-parse: %s -> %s\nfirst:  %q\nsecond: %q", file.Hash, again.Hash, text, again.Bytes())
		}
		if !reflect.DeepEqual(again.Fleet, file.Fleet) {
			t.Fatalf("requirements changed on re-parse: %+v -> %+v", file.Fleet, again.Fleet)
		}
		if !reflect.DeepEqual(again.Container, file.Container) {
			t.Fatalf("container changed on re-parse: %+v -> %+v", file.Container, again.Container)
		}
		if again.Resources != file.Resources {
			t.Fatalf("resources changed on re-parse: %+v -> %+v", file.Resources, again.Resources)
		}
		same, err := file.ForName(name)
		if err != nil || same.Hash != file.Hash || !reflect.DeepEqual(same.Fleet, file.Fleet) || !reflect.DeepEqual(same.Container, file.Container) || same.Resources != file.Resources {
			t.Fatalf("ForName(own name) = %+v, %v", same, err)
		}
		_ = file.Description()
	})
}

// checkScan compares scan with go-systemd. Where the input has a long line
// go-systemd may stop early or not, depending on where the line falls, so
// only the lines it did read are comparable.
func checkScan(t *testing.T, data []byte) {
	opts, err := sdunit.DeserializeOptions(bytes.NewReader(data))
	sc := scan(data)
	if longLine(data) > 0 {
		return
	}
	if (err != nil) != (sc.errLine != 0) {
		t.Fatalf("go-systemd err = %v but scan errLine = %d", err, sc.errLine)
	}
	if err == nil && len(opts) != len(sc.optLines) {
		t.Fatalf("go-systemd read %d options, scan %d (%v)", len(opts), len(sc.optLines), sc.optLines)
	}
	for i := 1; i < len(sc.optLines); i++ {
		if sc.optLines[i] <= sc.optLines[i-1] {
			t.Fatalf("option lines not increasing: %v", sc.optLines)
		}
	}
}
