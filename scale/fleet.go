package scale

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/flota-dev/flota/sim"
)

// fleet is the simulated machines, run by flota-sim processes this driver
// started, each a share of them (--machines-per-process), driven through
// sim.Control on their stdin and stdout.
//
// Why several: in one process, the 5,000 agents' goroutines queue for the
// same two cores with that process's gRPC transport, whose reader waited
// to run for seconds under the submit's load, so keep-alive answers that
// etcd had sent in time reached the agents late enough to raise their
// fences. A real agent has a machine to itself.
type fleet struct {
	procs []*simProc
	ids   []string // machine number i's ID
	of    map[string]*simProc

	mu     sync.Mutex
	killed map[string]bool
}

// simProc is one flota-sim process and its share, machines first to
// first+n-1.
type simProc struct {
	*proc
	first, n int
	in       io.WriteCloser
	lines    chan string // its answers; closed when its stdout ends
	mu       sync.Mutex  // one command at a time
}

// startFleet starts the flota-sim processes one after the other, each once
// the one before has registered all its machines (thousands of
// registrations from several processes at once queue in etcd, and a
// machine's fuse counts while it waits), and returns when all are.
func startFleet(ctx context.Context, o options, bin, endpoint, work string) (f *fleet, err error) {
	per := o.perProcess
	if per <= 0 {
		per = o.machines
	}
	n := max((o.machines+per-1)/max(per, 1), 1)
	f = &fleet{of: map[string]*simProc{}, killed: map[string]bool{}}
	defer func() {
		if err != nil {
			f.stop()
		}
	}()
	for i := range o.machines {
		f.ids = append(f.ids, sim.MachineID(simPrefix, i))
	}
	for k := range n {
		first, last := k*o.machines/n, (k+1)*o.machines/n
		p, err := startSim(k, bin, work, first, last-first, endpoint, o)
		if err != nil {
			return f, err
		}
		f.procs = append(f.procs, p)
		for _, id := range f.ids[first:last] {
			f.of[id] = p
		}
		select {
		case line, ok := <-p.lines:
			if !ok || !strings.HasPrefix(line, "ready") {
				return f, fmt.Errorf("flota-sim %d: %q instead of ready (see %s)", k, line, p.log)
			}
		case <-time.After(o.phase):
			return f, fmt.Errorf("flota-sim %d: its %d machines did not register in %v (see %s)", k, last-first, o.phase, p.log)
		case <-ctx.Done():
			return f, fmt.Errorf("waiting for the machines to register: %w", ctx.Err())
		}
	}
	return f, nil
}

// simGOGC is the flota-sim processes' GOGC, unless the environment sets one.
const simGOGC = "400"

// simPrefix starts every simulated machine's ID.
const simPrefix = "sim-"

func startSim(k int, bin, work string, first, n int, endpoint string, o options) (*simProc, error) {
	logPath := filepath.Join(work, fmt.Sprintf("sim-%d.log", k))
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	args := []string{"--etcd-endpoints=" + endpoint,
		fmt.Sprintf("--machines=%d", n), fmt.Sprintf("--first=%d", first), "--id-prefix=" + simPrefix,
		fmt.Sprintf("--zones=%d", o.zones), fmt.Sprintf("--racks=%d", o.racks), fmt.Sprintf("--clients=%d", o.clients),
		"--machine-ttl=" + o.machineTTL.String(), "--start-delay=" + o.startDelay.String(),
		"--control", "--log-runtime", "--log-level=warn"}
	if o.simProfiles != "" {
		args = append(args, "--cpuprofile="+filepath.Join(o.simProfiles, fmt.Sprintf("sim-%d.prof", k)))
	}
	cmd := exec.Command(filepath.Join(bin, "flota-sim"), args...)
	// A thousand agents share one heap here, where a real machine's agent has
	// its own: the collector's work in this process (a third of its CPU at
	// GOGC=100, at 150,000 units) takes cores from the etcd and engines under
	// measure. Memory is what the box has plenty of.
	cmd.Env = append(os.Environ(), "GOGC="+cmp.Or(os.Getenv("GOGC"), simGOGC))
	cmd.Stderr = lf
	in, err := cmd.StdinPipe()
	if err != nil {
		lf.Close()
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		lf.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("start flota-sim: %w (make build)", err)
	}
	p := &simProc{proc: &proc{name: fmt.Sprintf("flota-sim %d", k), cmd: cmd, log: logPath, done: make(chan struct{})},
		first: first, n: n, in: in, lines: make(chan string, 4)}
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		defer close(p.lines)
		s := bufio.NewScanner(out)
		for s.Scan() {
			p.lines <- s.Text()
		}
	}()
	go func() { <-readDone; _ = cmd.Wait(); lf.Close(); close(p.done) }()
	return p, nil
}

// ask sends one command and returns its answer.
func (p *simProc) ask(ctx context.Context, cmd string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := io.WriteString(p.in, cmd+"\n"); err != nil {
		return "", fmt.Errorf("%s: %w (see %s)", p.name, err, p.log)
	}
	select {
	case line, ok := <-p.lines:
		if !ok {
			return "", fmt.Errorf("%s ended (see %s)", p.name, p.log)
		}
		if strings.HasPrefix(line, "error") {
			return "", fmt.Errorf("%s: %s", p.name, line)
		}
		return line, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// kill crashes the machines ids (as sim.Machine.Kill), each process its
// own at once, and returns once all are dead.
func (f *fleet) kill(ctx context.Context, ids []string) error {
	byProc := map[*simProc][]string{}
	f.mu.Lock()
	for _, id := range ids {
		if p := f.of[id]; p != nil {
			byProc[p] = append(byProc[p], id)
			f.killed[id] = true
		}
	}
	f.mu.Unlock()
	var wg sync.WaitGroup
	errs := make(chan error, len(byProc))
	for p, ids := range byProc {
		wg.Go(func() {
			if _, err := p.ask(ctx, "kill "+strings.Join(ids, " ")); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}

// isKilled says whether kill was asked of machine id.
func (f *fleet) isKilled(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.killed[id]
}

// stats adds up what the processes say of their machines: the largest gap
// and trip of any, the largest of their 99th percentiles.
func (f *fleet) stats(ctx context.Context) (sim.Stats, error) {
	var out sim.Stats
	for _, p := range f.procs {
		line, err := p.ask(ctx, "stats")
		if err != nil {
			return out, err
		}
		s, err := sim.ParseStats(line)
		if err != nil {
			return out, fmt.Errorf("%s: %w", p.name, err)
		}
		out.Lost += s.Lost
		out.Fences += s.Fences
		out.Peeks += s.Peeks
		out.Gap = max(out.Gap, s.Gap)
		out.Trip99 = max(out.Trip99, s.Trip99)
		out.TripMax = max(out.TripMax, s.TripMax)
	}
	return out, nil
}

// pids are the processes' PIDs.
func (f *fleet) pids() []int {
	var out []int
	for _, p := range f.procs {
		out = append(out, p.pid())
	}
	return out
}

// stop ends every process: its stdin closed ends its fleet, and one that
// does not end is stopped by its PID (SIGTERM, then SIGKILL).
func (f *fleet) stop() {
	for _, p := range f.procs {
		_ = p.in.Close()
	}
	var wg sync.WaitGroup
	for _, p := range f.procs {
		wg.Go(func() {
			select {
			case <-p.done:
			case <-time.After(5 * time.Second):
				p.stop()
			}
		})
	}
	wg.Wait()
}
