package ctl

import (
	"bytes"
	"encoding/json"
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
	output   string // table or json
}

func (t *tableFlags) register(fs *pflag.FlagSet, defaultFields string, keys []string, shortFull bool) {
	short := ""
	if shortFull {
		short = "l"
	}
	fs.BoolVarP(&t.full, "full", short, false, "do not shorten machine IDs and hashes")
	fs.BoolVar(&t.noLegend, "no-legend", false, "do not print a header line")
	fs.StringVar(&t.fields, "fields", defaultFields, "columns to print, comma-separated, from: "+strings.Join(keys, ","))
	fs.StringVarP(&t.output, "output", "o", "table", `"table", or "json": an array of one object a row, the --fields as keys, values never shortened, null for none`)
}

// columns checks --fields against the keys a table knows, in fleetctl's
// words.
func (t *tableFlags) columns(keys []string) ([]string, error) {
	switch t.output {
	case "table":
	case "json":
		t.full = true // a program reads it: nothing shortened
	default:
		return nil, fmt.Errorf("--output %q: want table or json", t.output)
	}
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
	if t.output == "json" {
		return writeJSON(w, cols, rows, cell)
	}
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

// writeJSON prints rows as -o json: an array of objects, one a row, the
// columns as keys (in the order --fields gives them), the cells' text as
// values and null for a cell shown as "-".
func writeJSON[R any](w io.Writer, cols []string, rows []R, cell func(r R, col string) string) error {
	var b bytes.Buffer
	b.WriteString("[")
	for i, r := range rows {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("\n  {")
		for j, col := range cols {
			if j > 0 {
				b.WriteString(", ")
			}
			k, _ := json.Marshal(col)
			b.Write(k)
			b.WriteString(": ")
			if v := cell(r, col); v == "-" {
				b.WriteString("null")
			} else {
				vb, _ := json.Marshal(v)
				b.Write(vb)
			}
		}
		b.WriteString("}")
	}
	if len(rows) > 0 {
		b.WriteString("\n")
	}
	b.WriteString("]\n")
	_, err := w.Write(b.Bytes())
	return err
}
