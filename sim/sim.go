package sim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/flota-dev/flota/agent"
	"github.com/flota-dev/flota/agent/systemd/systemdtest"
	"github.com/flota-dev/flota/registry"
)

// Config describes the simulated machines.
type Config struct {
	Machines int
	// IDPrefix starts every machine ID; machine i is IDPrefix followed by
	// First+i in five digits (default "sim-").
	IDPrefix string
	// First is the number of this fleet's first machine: several
	// processes, each a share of one fleet's machines, number them apart
	// (and give them the metadata and addresses of their numbers).
	First int
	// Metadata is machine number i's metadata (default none).
	Metadata func(i int) map[string]string
	// TTL is each machine's lease (default the agent's, 5 s).
	TTL time.Duration
	// Systemd is how each machine's units behave (start delay, failures).
	Systemd systemdtest.Options
	// Debounce is the agents' (default the agent's, 10 ms).
	Debounce time.Duration
	// Registering bounds the registrations in flight at once, so that
	// thousands of machines starting together queue in the process, not
	// in etcd's (default 64).
	Registering int
}

// Fleet is a set of simulated machines sharing a few registry clients.
type Fleet struct {
	cfg      Config
	log      *slog.Logger
	machines []*Machine
	slots    chan struct{} // registrations in flight

	mu         sync.Mutex
	registered int           // machines registered at least once
	ready      chan struct{} // closed when every machine registered once
}

// Machine is one simulated machine.
type Machine struct {
	ID      string
	Systemd *systemdtest.Fake
	fleet   *Fleet
	agent   *agent.Agent
	store   *store

	mu     sync.Mutex
	cancel context.CancelFunc // nil until Run, and after Kill
	done   chan struct{}      // closed when its agent returned
	killed bool
	fences int // times its fence rose
}

// New returns a Fleet of cfg.Machines machines; machine i talks to etcd
// through regs[i%len(regs)].
func New(regs []*registry.Registry, cfg Config, log *slog.Logger) (*Fleet, error) {
	if len(regs) == 0 {
		return nil, errors.New("sim: no registry")
	}
	if err := cfg.Systemd.CheckGlobs(); err != nil {
		return nil, err
	}
	if cfg.IDPrefix == "" {
		cfg.IDPrefix = "sim-"
	}
	if cfg.Registering <= 0 {
		cfg.Registering = 64
	}
	f := &Fleet{cfg: cfg, log: log, slots: make(chan struct{}, cfg.Registering), ready: make(chan struct{})}
	if cfg.Machines == 0 {
		close(f.ready)
	}
	for i := range cfg.Machines {
		n := cfg.First + i
		m := &Machine{ID: MachineID(cfg.IDPrefix, n), Systemd: systemdtest.NewFakeWith(cfg.Systemd), fleet: f, done: make(chan struct{})}
		m.store = &store{Store: regs[i%len(regs)], fleet: f}
		var md map[string]string
		if cfg.Metadata != nil {
			md = cfg.Metadata(n)
		}
		m.agent = agent.New(m.store, agent.Config{
			MachineID: m.ID, PublicIP: ip(n), Metadata: md, TTL: cfg.TTL,
			Systemd: m.Systemd, Debounce: cfg.Debounce, OnFence: m.onFence,
		}, log.With("machine", m.ID))
		f.machines = append(f.machines, m)
	}
	return f, nil
}

// MachineID is the ID of machine number n of a fleet whose IDs start with
// prefix.
func MachineID(prefix string, n int) string { return fmt.Sprintf("%s%05d", prefix, n) }

// ip is machine i's made-up address, shown by flotactl; nothing is sent
// to it (the simulated machines advertise no agent API).
func ip(i int) string { return fmt.Sprintf("10.%d.%d.%d", 100+i>>16, i>>8&0xff, i&0xff) }

// Run runs every machine until ctx ends (or each is killed), and returns
// the first error an agent ended with.
func (f *Fleet) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make([]error, len(f.machines))
	for i, m := range f.machines {
		mctx, cancel := context.WithCancel(ctx)
		m.mu.Lock()
		if m.killed {
			m.mu.Unlock()
			cancel()
			close(m.done)
			continue
		}
		m.cancel = cancel
		m.mu.Unlock()
		// A machine starts only once it may register: its agent's fuse
		// counts from its start, so one left queueing behind thousands
		// of registrations would raise its fence before it ever asked.
		select {
		case f.slots <- struct{}{}:
			m.store.hold()
		case <-ctx.Done():
		}
		wg.Go(func() {
			defer close(m.done)
			defer cancel()
			if err := m.agent.Run(mctx); err != nil && !errors.Is(err, context.Canceled) {
				errs[i] = fmt.Errorf("machine %s: %w", m.ID, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Ready is closed once every machine has registered at least once.
func (f *Fleet) Ready() <-chan struct{} { return f.ready }

// Machines are the fleet's machines, in order.
func (f *Fleet) Machines() []*Machine { return f.machines }

// Lost is how many registrations of machines that were not killed ended
// and had to be made again: a lease etcd expired, or a placements watch
// that broke. A scale run wants 0.
func (f *Fleet) Lost() int {
	n := 0
	for _, m := range f.machines {
		m.mu.Lock()
		killed := m.killed
		m.mu.Unlock()
		if r := m.store.registrations(); !killed && r > 1 {
			n += r - 1
		}
	}
	return n
}

// Fences is how many times the fence rose on machines that were not
// killed: each time, their agent had heard nothing from etcd for most of
// the lease, and stopped the units that stop on disconnect, though its
// lease may have lived on. A scale run wants 0.
func (f *Fleet) Fences() int {
	n := 0
	for _, m := range f.machines {
		m.mu.Lock()
		if !m.killed {
			n += m.fences
		}
		m.mu.Unlock()
	}
	return n
}

// FusePeeks is how many times a live machine's fuse, about to blow, found
// an answer read but not yet handed over to its agent (agent.FusePeeks).
func (f *Fleet) FusePeeks() int {
	n := 0
	for _, m := range f.machines {
		if !m.Killed() {
			n += m.agent.FusePeeks()
		}
	}
	return n
}

func (m *Machine) onFence(raised bool) {
	if raised {
		m.mu.Lock()
		m.fences++
		m.mu.Unlock()
	}
}

// Kill crashes the machine: its agent stops at once and keeps its lease
// alive no longer, so etcd expires it after the TTL, as for a machine
// that lost power. Its units are left as they were.
func (m *Machine) Kill() {
	m.mu.Lock()
	m.killed = true
	cancel := m.cancel
	m.cancel = nil
	m.mu.Unlock()
	if cancel != nil {
		cancel()
		<-m.done
	}
}

func (f *Fleet) registeredOnce() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.registered++
	if f.registered == len(f.machines) {
		close(f.ready)
	}
}

// Killed says whether Kill was called.
func (m *Machine) Killed() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.killed
}
