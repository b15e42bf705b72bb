package sim

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/flota-dev/flota/registry"
)

// Control is how a driver (flota-scale) runs a flota-sim process that
// holds a share of its machines: one line a command on the process's
// stdin, one line an answer on its stdout.
//
//	(once every machine registered)  → ready <ms>
//	kill <id> <id>...                → killed <n>
//	stats                            → stats lost=<n> fences=<n> peeks=<n> gap=<d> trip99=<d> tripmax=<d>
//
// stats is Fleet.Lost, Fleet.Fences and Fleet.FusePeeks, and of the keep-alives of this
// process's clients: the longest a machine went between two answers, and
// the 99th percentile and largest time from a request sent to its answer
// read. An unknown command is answered "error <what>". When stdin ends
// (the driver is gone) Control returns, and the caller ends the fleet.
func Control(ctx context.Context, f *Fleet, regs []*registry.Registry, start time.Time, in io.Reader, out io.Writer) error {
	var mu sync.Mutex
	say := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(out, format+"\n", args...)
	}
	go func() {
		select {
		case <-f.Ready():
			say("ready %d", time.Since(start).Milliseconds())
		case <-ctx.Done():
		}
	}()
	byID := make(map[string]*Machine, len(f.machines))
	for _, m := range f.machines {
		byID[m.ID] = m
	}
	s := bufio.NewScanner(in)
	s.Buffer(make([]byte, 64<<10), 16<<20) // a kill names hundreds of machines
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) == 0 {
			continue
		}
		switch fields[0] {
		case "kill":
			n := 0
			for _, id := range fields[1:] {
				if m := byID[id]; m != nil {
					m.Kill()
					n++
				}
			}
			say("killed %d", n)
		case "stats":
			ka := KeepAlives(regs)
			say("stats lost=%d fences=%d peeks=%d gap=%v trip99=%v tripmax=%v", f.Lost(), f.Fences(), f.FusePeeks(), ka.Gap, ka.Trip.Quantile(0.99), ka.Trip.Max)
		default:
			say("error unknown command %q", fields[0])
		}
	}
	return s.Err()
}

// Stats is a stats answer, parsed.
type Stats struct {
	Lost, Fences, Peeks  int
	Gap, Trip99, TripMax time.Duration
}

// ParseStats reads a stats answer of Control.
func ParseStats(line string) (Stats, error) {
	var st Stats
	fields := strings.Fields(line)
	if len(fields) == 0 || fields[0] != "stats" {
		return st, fmt.Errorf("not a stats answer: %q", line)
	}
	for _, f := range fields[1:] {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return st, fmt.Errorf("stats: %q", f)
		}
		var err error
		switch k {
		case "lost":
			st.Lost, err = strconv.Atoi(v)
		case "fences":
			st.Fences, err = strconv.Atoi(v)
		case "peeks":
			st.Peeks, err = strconv.Atoi(v)
		case "gap":
			st.Gap, err = time.ParseDuration(v)
		case "trip99":
			st.Trip99, err = time.ParseDuration(v)
		case "tripmax":
			st.TripMax, err = time.ParseDuration(v)
		}
		if err != nil {
			return st, fmt.Errorf("stats %s: %w", k, err)
		}
	}
	return st, nil
}
