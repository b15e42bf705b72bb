package ctl

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/pflag"
)

// tableFlags are the options of the list commands.
type tableFlags struct {
	fields   string
	full     bool
	noLegend bool
}

func (t *tableFlags) register(fs *pflag.FlagSet, defaultFields string, keys []string, shortFull bool) {
	short := ""
	if shortFull {
		short = "l"
	}
	fs.BoolVarP(&t.full, "full", short, false, "do not shorten machine IDs and hashes")
	fs.BoolVar(&t.noLegend, "no-legend", false, "do not print a header line")
	fs.StringVar(&t.fields, "fields", defaultFields, "columns to print, comma-separated, from: "+strings.Join(keys, ","))
}

// columns checks --fields against the keys a table knows, in fleetctl's
// words.
func (t *tableFlags) columns(keys []string) ([]string, error) {
	if t.fields == "" {
		return nil, errors.New("Must define output format")
	}
	cols := strings.Split(t.fields, ",")
	for _, k := range cols {
		if !slices.Contains(keys, k) {
			return nil, fmt.Errorf("Invalid key in output format: %q", k)
		}
	}
	return cols, nil
}

// writeTable prints rows as fleetctl did: text/tabwriter with
// Init(out, 0, 8, 1, '\t', 0), a header of the keys in upper case unless
// --no-legend (also when there are no rows). cell gives the text of one
// column of one row.
func writeTable[R any](w io.Writer, t *tableFlags, cols []string, rows []R, cell func(r R, col string) string) error {
	tw := new(tabwriter.Writer)
	tw.Init(w, 0, 8, 1, '\t', 0)
	if !t.noLegend {
		fmt.Fprintln(tw, strings.ToUpper(strings.Join(cols, "\t")))
	}
	vals := make([]string, len(cols))
	for _, r := range rows {
		for i, col := range cols {
			vals[i] = cell(r, col)
		}
		fmt.Fprintln(tw, strings.Join(vals, "\t"))
	}
	return tw.Flush()
}

// dash shows an unknown value as "-".
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
