package ctl

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// TestManPage: flotactl(1) has every command with its usage line and
// every option, global and per command, that help shows.
func TestManPage(t *testing.T) {
	var b strings.Builder
	if err := WriteManPage(&b, "2026-12-02"); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	var g globals
	want := []string{`.TH FLOTACTL 1 "2026-12-02"`}
	newGlobalFlags(&g).VisitAll(func(f *pflag.Flag) { want = append(want, `\fB\-\-`+strings.ReplaceAll(f.Name, "-", `\-`)+`\fR`) })
	for _, cmd := range commands() {
		want = append(want, ".SS flotactl "+strings.ReplaceAll(cmd.usageLine(), "-", `\-`)+"\n")
		cmd.flags.VisitAll(func(f *pflag.Flag) { want = append(want, `\fB\-\-`+strings.ReplaceAll(f.Name, "-", `\-`)+`\fR`) })
	}
	for _, w := range want {
		if !strings.Contains(page, w) {
			t.Errorf("flotactl.1 has no %q", w)
		}
	}
}
