package daemon

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// TestManPage: flotad(8) has every flag flotad takes.
func TestManPage(t *testing.T) {
	var b strings.Builder
	if err := WriteManPage(&b, "2026-12-02"); err != nil {
		t.Fatal(err)
	}
	fs := pflag.NewFlagSet("flotad", pflag.ContinueOnError)
	flags(fs, &Config{})
	n := 0
	fs.VisitAll(func(f *pflag.Flag) {
		n++
		if w := `\fB\-\-` + strings.ReplaceAll(f.Name, "-", `\-`) + `\fR`; !strings.Contains(b.String(), w) {
			t.Errorf("flotad.8 has no %q", w)
		}
	})
	if n < 40 {
		t.Errorf("only %d flags", n)
	}
}
