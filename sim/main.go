package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"time"

	"github.com/spf13/pflag"

	"github.com/flota-dev/flota/agent"
	"github.com/flota-dev/flota/agent/systemd/systemdtest"
	"github.com/flota-dev/flota/registry"
)

// Main is flota-sim: it runs simulated machines against a cluster's etcd
// until ctx ends (or, with --control, stdin ends), and returns its exit
// code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("flota-sim", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	endpoints := fs.StringSlice("etcd-endpoints", []string{"http://127.0.0.1:2379"}, "etcd client URLs of the cluster, comma-separated")
	prefix := fs.String("etcd-key-prefix", registry.DefaultPrefix, "prefix of every key flota keeps in etcd")
	machines := fs.Int("machines", 100, "how many machines to simulate")
	idPrefix := fs.String("id-prefix", "sim-", "start of every machine ID (then five digits)")
	first := fs.Int("first", 0, "number of the first machine (its ID, metadata and address follow from it), for a share of a fleet run in several processes")
	control := fs.Bool("control", false, "take commands on stdin and answer on stdout (sim.Control), for flota-scale; end when stdin ends")
	logRuntime := fs.Bool("log-runtime", false, "write each second to stderr this process's goroutine scheduling waits, GC pauses and keep-alive times")
	zones := fs.Int("zones", 4, "machine i has metadata zone=z<i mod zones> (0: no zone)")
	racks := fs.Int("racks", 50, "machine i has metadata rack=r<i mod racks> (0: no rack)")
	metadata := fs.String("metadata", "", "more metadata for every machine, k=v pairs separated by commas")
	ttl := fs.Duration("machine-ttl", 5*time.Second, "each machine's lease TTL")
	delay := fs.Duration("start-delay", 100*time.Millisecond, "how long each unit's start job lasts (activating meanwhile)")
	fail := fs.StringSlice("fail", nil, "glob of unit names whose start fails (repeatable)")
	clients := fs.Int("clients", 4, "etcd clients the machines share")
	level := fs.String("log-level", "warn", "debug, info, warn or error")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of this process to this file, until it stops")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "flota-sim: --cpuprofile: %v\n", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "flota-sim: --cpuprofile: %v\n", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	var in io.Reader
	if *control {
		in = stdin
	}
	if err := run(ctx, *endpoints, *prefix, *clients, *level, *metadata, Config{
		Machines: *machines, IDPrefix: *idPrefix, First: *first, TTL: *ttl,
		Systemd: systemdtest.Options{StartDelay: *delay, Fail: *fail},
	}, *zones, *racks, in, stdout, *logRuntime, stderr); err != nil {
		fmt.Fprintf(stderr, "flota-sim: %v\n", err)
		return 1
	}
	return 0
}

func run(ctx context.Context, endpoints []string, prefix string, clients int, level, extra string, cfg Config, zones, racks int,
	control io.Reader, stdout io.Writer, logRuntime bool, stderr io.Writer) error {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: l}))
	fixed, err := agent.ParseMetadata(extra)
	if err != nil {
		return fmt.Errorf("--metadata: %w", err)
	}
	cfg.Metadata = Metadata(zones, racks, fixed)
	if clients < 1 || cfg.Machines < 0 {
		return fmt.Errorf("--clients %d, --machines %d: want at least 1 client and no fewer than 0 machines", clients, cfg.Machines)
	}
	regs := make([]*registry.Registry, clients)
	for i := range regs {
		r, err := registry.Connect(registry.Config{Endpoints: endpoints, Prefix: prefix})
		if err != nil {
			return err
		}
		defer r.Close()
		regs[i] = r
	}
	f, err := New(regs, cfg, log)
	if err != nil {
		return err
	}
	start := time.Now()
	go func() {
		select {
		case <-f.Ready():
			fmt.Fprintf(stderr, "flota-sim: %d machines registered in %v\n", cfg.Machines, time.Since(start).Round(time.Millisecond))
		case <-ctx.Done():
		}
	}()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if logRuntime {
		go LogRuntime(ctx, stderr, regs)
	}
	if control != nil {
		go func() {
			if err := Control(ctx, f, regs, start, control, stdout); err != nil {
				fmt.Fprintf(stderr, "flota-sim: control: %v\n", err)
			}
			cancel() // the driver is gone, or done with us
		}()
	}
	err = f.Run(ctx)
	fmt.Fprintf(stderr, "flota-sim: stopped; registrations of live machines lost: %d, fences raised on them: %d\n", f.Lost(), f.Fences())
	return err
}

// Metadata gives machine i zone=z<i mod zones> and rack=r<i mod racks>
// (none for a count of 0), and the fixed pairs.
func Metadata(zones, racks int, fixed map[string]string) func(i int) map[string]string {
	return func(i int) map[string]string {
		md := make(map[string]string, len(fixed)+2)
		for k, v := range fixed {
			md[k] = v
		}
		if zones > 0 {
			md["zone"] = fmt.Sprintf("z%d", i%zones)
		}
		if racks > 0 {
			md["rack"] = fmt.Sprintf("r%02d", i%racks)
		}
		return md
	}
}
