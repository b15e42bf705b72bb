package unit

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	sdunit "github.com/coreos/go-systemd/v22/unit"
)

func TestScanLines(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		lines   []int
		errLine int
		outside int
	}{
		{"simple", "[Unit]\nA=1\nB=2\n", []int{2, 3}, 0, 0},
		{"blank lines and comments", "\n# c\n[Unit]\n\n; x\nA=1\n\n\nB=2", []int{6, 9}, 0, 0},
		{"continuations", "[S]\nA=1 \\\n2 \\\n3\nB=4\n", []int{2, 5}, 0, 0},
		{"continued comment", "[S]\n# a \\\nB=not an option\nC=1\n", []int{4}, 0, 0},
		{"comment continues past a trailing space", "[S]\n# a \\ \nB=not an option\nC=1\n", []int{4}, 0, 0},
		{"indented", "[S]\n   A=1\n\tB=2\n", []int{2, 3}, 0, 0},
		{"value continued over a blank line ends", "[S]\nA=1\\\n\nB=2\n", []int{2, 4}, 0, 0},
		{"multi-line section name", "[S\nT]\nA=1\n", []int{3}, 0, 0},
		{"text before a section", "junk\n[S]\nA=1\n", []int{3}, 0, 1},
		{"section inside text before", "junk [S]\nA=1\n", []int{2}, 0, 1},
		{"unicode space before an option", "[S]\n\u00a0A=1\n", []int{2}, 0, 0},
		{"unterminated section", "[S]\nA=1\n[T\n", []int{2}, 3, 0},
		{"garbage", "[S]\nA=1\n[T]x\n", []int{2}, 3, 0},
		{"no =", "[S]\nA=1\nB\n", []int{2}, 3, 0},
		{"eof in name", "[S]\nA=1\nB", []int{2}, 3, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := scan([]byte(tt.data))
			if !reflect.DeepEqual(got.optLines, tt.lines) || got.errLine != tt.errLine || got.outsideLine != tt.outside {
				t.Errorf("scan = %+v, want lines %v err %d outside %d", got, tt.lines, tt.errLine, tt.outside)
			}
			// The scanner must agree with go-systemd.
			opts, err := sdunit.DeserializeOptions(bytes.NewReader([]byte(tt.data)))
			if (err != nil) != (got.errLine != 0) {
				t.Errorf("go-systemd err = %v, scan errLine = %d", err, got.errLine)
			}
			if err == nil && len(opts) != len(got.optLines) {
				t.Errorf("go-systemd found %d options, scan %d", len(opts), len(got.optLines))
			}
		})
	}
}

// TestScanOpenHeader checks that scan finds the first section header whose
// ']' is not on its own line, which go-systemd reads as part of the name.
func TestScanOpenHeader(t *testing.T) {
	tests := []struct {
		name string
		data string
		want int
	}{
		{"closed", "[Unit]\nA=1\n[Service]\nB=2\n", 0},
		{"closed, CRLF", "[Unit]\r\nA=1\r\n", 0},
		{"open at the top", "[Unit\nDescription=x\n[Service]\nB=2\n", 1},
		{"open later", "[Unit]\nA=1\n\n[Service\nB=2\n]\n", 4},
		{"the first of two", "[A]\nx=1\n[B\n]\n[C\n]\n", 3},
		{"closed on the next line", "[S\nT]\nA=1\n", 1},
		{"no ']' at all is go-systemd's error", "[Unit\nA=1\n", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := scan([]byte(tt.data)).openHeader; got != tt.want {
				t.Errorf("openHeader = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestLongLine(t *testing.T) {
	max := sdunit.SYSTEMD_LINE_MAX
	tests := []struct {
		name string
		data string
		want int
	}{
		{"empty", "", 0},
		{"short", "a\nb\n", 0},
		{"just fits", strings.Repeat("a", max-1) + "\n", 0},
		{"just too long", strings.Repeat("a", max), 1},
		{"third line", "a\nb\n" + strings.Repeat("a", max+5), 3},
		{"CR breaks a line", strings.Repeat("a", max-1) + "\r" + strings.Repeat("a", max-1), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := longLine([]byte(tt.data)); got != tt.want {
				t.Errorf("longLine = %d, want %d", got, tt.want)
			}
		})
	}
}
