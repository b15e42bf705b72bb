// Command flota-man writes flota's man pages, flotactl.1 and flotad.8,
// into a directory, from the commands' own definitions:
//
//	flota-man --date=2026-12-02 DIR
package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/flota-dev/flota/ctl"
	"github.com/flota-dev/flota/daemon"
)

func main() {
	fs := pflag.NewFlagSet("flota-man", pflag.ContinueOnError)
	date := fs.String("date", "", "the date the pages carry, YYYY-MM-DD (the source's, for reproducible pages)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if fs.NArg() != 1 || *date == "" {
		fmt.Fprintln(os.Stderr, "usage: flota-man --date=YYYY-MM-DD DIR")
		os.Exit(2)
	}
	if err := write(fs.Arg(0), *date); err != nil {
		fmt.Fprintf(os.Stderr, "flota-man: %v\n", err)
		os.Exit(1)
	}
}

func write(dir, date string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, page := range map[string]func(io.Writer, string) error{"flotactl.1": ctl.WriteManPage, "flotad.8": daemon.WriteManPage} {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		err = page(f, date)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}
