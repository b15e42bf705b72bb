package manpage_test

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/flota-dev/flota/manpage"
)

func TestWrite(t *testing.T) {
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	fs.StringP("endpoint", "e", "http://127.0.0.1:2379", "etcd's `URL`")
	fs.Bool("full", false, "do not shorten")
	var b strings.Builder
	err := manpage.Page{Name: "x", Section: 1, Date: "2026-12-02", Version: "1.0", Summary: "does x", Synopsis: "x [flags]",
		Sections: []manpage.Section{
			{Title: "Description", Text: ".starts with a dot\nand a back\\slash\n\nsecond paragraph"},
			{Title: "Options", Flags: fs},
			{Title: "Commands", Subs: []manpage.Section{{Title: "x run UNIT", Text: "runs"}}},
		}}.Write(&b)
	if err != nil {
		t.Fatal(err)
	}
	got := b.String()
	for _, tc := range []struct{ name, want string }{
		{"header", `.TH X 1 "2026-12-02" "x 1.0" "flota"` + "\n"},
		{"name line", ".SH NAME\nx \\- does x\n"},
		{"a leading dot is protected", ".PP\n\\&.starts with a dot\n"},
		{"a backslash is escaped", "and a back\\eslash\n"},
		{"paragraphs", ".PP\nsecond paragraph\n"},
		{"a flag with shorthand, value name and default", ".TP\n\\fB\\-e\\fR, \\fB\\-\\-endpoint\\fR \\fIURL\\fR\netcd's URL (default: http://127.0.0.1:2379)\n"},
		{"a bool flag", ".TP\n\\fB\\-\\-full\\fR\ndo not shorten\n"},
		{"a sub-section keeps its case", ".SS x run UNIT\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(got, tc.want) {
				t.Errorf("no %q in:\n%s", tc.want, got)
			}
		})
	}
}
