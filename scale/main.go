package scale

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
)

// options are flota-scale's flags.
type options struct {
	bin         string
	machines    int
	units       int
	unplaceable float64
	zones       int
	racks       int
	clients     int
	perProcess  int
	engines     int
	startDelay  time.Duration
	machineTTL  time.Duration
	kill        float64
	failover    int
	batch       int
	submitters  int
	timeout     time.Duration
	phase       time.Duration
	keep        bool
	cpuProfile  string
	simProfiles string
	etcdNice    int
}

// Main is flota-scale; it returns its exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var o options
	fs := pflag.NewFlagSet("flota-scale", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.bin, "bin", "bin", "directory holding flotad")
	fs.IntVar(&o.machines, "machines", 1000, "simulated machines")
	fs.IntVar(&o.units, "units", 10000, "units submitted")
	fs.Float64Var(&o.unplaceable, "unplaceable", 5, "percent of the units that cannot be placed")
	fs.IntVar(&o.zones, "zones", 4, "zones the machines are spread over (zone=zN)")
	fs.IntVar(&o.racks, "racks", 50, "racks the machines are spread over (rack=rNN)")
	fs.IntVar(&o.clients, "clients", 4, "etcd clients the simulated machines of each flota-sim process share")
	fs.IntVar(&o.perProcess, "machines-per-process", 1000, "simulated machines in each flota-sim process (0: all in one)")
	fs.IntVar(&o.engines, "engines", 2, "engine processes (flotad --agent=false); the leader is killed for the failover figure when there are two or more")
	fs.DurationVar(&o.startDelay, "start-delay", 100*time.Millisecond, "how long each unit's start job lasts on a simulated machine")
	fs.DurationVar(&o.machineTTL, "machine-ttl", 5*time.Second, "machine lease TTL, for the machines and the engines")
	fs.Float64Var(&o.kill, "kill", 10, "percent of the machines killed for the machine-loss figures")
	fs.IntVar(&o.failover, "failover-units", 100, "units submitted right after the leading engine is killed")
	fs.IntVar(&o.batch, "submit-batch", 500, "units per submit call (the registry splits it into transactions)")
	fs.IntVar(&o.submitters, "submitters", 1, "submit calls in flight at once (each as one flotactl submit would)")
	fs.DurationVar(&o.timeout, "timeout", 15*time.Minute, "give up after this long")
	fs.DurationVar(&o.phase, "phase-timeout", 3*time.Minute, "give up on a phase (all placed, all active, units moved, ...) after this long, and print what was reached")
	fs.BoolVar(&o.keep, "keep", false, "keep the work directory (etcd data, the engines' logs, the machines' in sim-N.log) and say where it is")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of this process (the observer, the submitters) to this file")
	fs.IntVar(&o.etcdNice, "etcd-nice", 0, "the etcd process's nice value; below 0 (as root) puts etcd's CPU ahead of the simulated machines', which a real cluster runs elsewhere (0: as it starts)")
	fs.StringVar(&o.simProfiles, "sim-cpuprofiles", "", "write a CPU profile of each flota-sim process, the whole run, to sim-N.prof in this directory")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0
		}
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "flota-scale: %v\n", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "flota-scale: %v\n", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(ctx, o, stdout, log); err != nil {
		fmt.Fprintf(stderr, "flota-scale: %v\n", err)
		return 1
	}
	return 0
}
