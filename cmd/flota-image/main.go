// Command flota-image builds, lists and exports flota images: see package
// github.com/flota-dev/flota/agent/image/build for the spec format.
//
//	flota-image build [--store DIR] [--dry-run] SPEC...
//	flota-image export --store DIR NAME:TAG OUTDIR
//	flota-image list --store DIR
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/flota-dev/flota/agent/image"
	"github.com/flota-dev/flota/agent/image/build"
)

const defaultStore = "/var/lib/flota/images"

const usage = `usage:
  flota-image build [--store DIR] [--dry-run] [--mirror URL] [--verbose] [--keep-failed] SPEC...
  flota-image export --store DIR NAME:TAG OUTDIR
  flota-image list --store DIR
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, pflag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "flota-image:", err)
		}
		os.Exit(exitCode(err))
	}
}

type usageError struct{ error }

func exitCode(err error) int {
	var u usageError
	if errors.As(err, &u) || errors.Is(err, pflag.ErrHelp) {
		return 2
	}
	return 1
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageError{errors.New("no command")}
	}
	cmd, args := args[0], args[1:]
	fs := pflag.NewFlagSet("flota-image "+cmd, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	store := fs.String("store", defaultStore, "image store directory (on BTRFS)")
	switch cmd {
	case "build":
		dry := fs.Bool("dry-run", false, "print the plan and what is cached; build nothing")
		mirror := fs.String("mirror", build.DefaultMirror, "Debian mirror for debootstrap and packages")
		verbose := fs.BoolP("verbose", "v", false, "show the output of debootstrap, run and packages steps")
		keep := fs.Bool("keep-failed", false, "keep a failed step's tree in the store's failed/ area")
		if err := fs.Parse(args); err != nil {
			return usageError{err}
		}
		if fs.NArg() == 0 {
			return usageError{errors.New("build: no spec files")}
		}
		var specs []*build.Spec
		for _, f := range fs.Args() {
			s, err := build.ParseFile(f)
			if err != nil {
				return err
			}
			specs = append(specs, s)
		}
		b := &build.Builder{Out: stdout, DryRun: *dry, Mirror: *mirror, KeepFailed: *keep}
		if *verbose {
			b.Log = stderr
		}
		if v := os.Getenv("SOURCE_DATE_EPOCH"); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return usageError{fmt.Errorf("SOURCE_DATE_EPOCH=%q: not a number of seconds", v)}
			}
			b.Epoch = time.Unix(n, 0).UTC()
		} else {
			b.Epoch = time.Unix(0, 0).UTC()
		}
		if !*dry {
			// A new store: its directory is made here, on whatever BTRFS it is on.
			if err := os.MkdirAll(*store, 0o700); err != nil {
				return err
			}
		}
		s, err := image.Open(ctx, *store)
		if err != nil && !*dry {
			return err
		}
		if err != nil {
			fmt.Fprintf(stderr, "flota-image: dry run without a store (%v): nothing is known cached\n", err)
		} else {
			defer s.Close()
			b.Store = s
		}
		start := time.Now()
		res, err := b.Build(ctx, specs)
		if err != nil {
			return err
		}
		built, cached := 0, 0
		for _, r := range res {
			built += r.Built
			cached += r.Cached
		}
		fmt.Fprintf(stdout, "%d images, %d steps built, %d cached, %.1fs\n", len(res), built, cached, time.Since(start).Seconds())
		return nil
	case "export":
		if err := fs.Parse(args); err != nil {
			return usageError{err}
		}
		if fs.NArg() != 2 {
			return usageError{errors.New("export: want NAME:TAG OUTDIR")}
		}
		s, err := image.Open(ctx, *store)
		if err != nil {
			return err
		}
		defer s.Close()
		cf, err := build.Export(ctx, s, fs.Arg(0), fs.Arg(1))
		if err != nil {
			return err
		}
		for _, l := range cf.Layers {
			fmt.Fprintf(stdout, "%s %d bytes\n", l.File, l.Size)
		}
		fmt.Fprintf(stdout, "%s = %s: %d layers in %s\n", cf.Image, cf.Top, len(cf.Layers), fs.Arg(1))
		return nil
	case "list":
		if err := fs.Parse(args); err != nil {
			return usageError{err}
		}
		if fs.NArg() != 0 {
			return usageError{errors.New("list takes no arguments")}
		}
		s, err := image.Open(ctx, *store)
		if err != nil {
			return err
		}
		defer s.Close()
		tags, err := s.Tags(ctx)
		if err != nil {
			return err
		}
		names := make([]string, 0, len(tags))
		for n := range tags {
			names = append(names, n)
		}
		sort.Strings(names)
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "IMAGE\tLAYER\tLAYERS\tSIZE")
		for _, n := range names {
			chain, err := s.Chain(ctx, tags[n])
			if err != nil {
				return err
			}
			var size int64
			for _, id := range chain {
				m, err := s.Layer(ctx, id)
				if err != nil {
					return err
				}
				size += m.Size
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\n", n, tags[n], len(chain), size)
		}
		return tw.Flush()
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return usageError{fmt.Errorf("unknown command %q", cmd)}
}
