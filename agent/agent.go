package agent

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flota-dev/flota/clock"
	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/unit"
)

// Store is what the Agent needs of the registry.
type Store interface {
	Register(ctx context.Context, m registry.Machine, ttl time.Duration) (*registry.Presence, error)
	MachinePlacements(ctx context.Context, machine string) ([]registry.Placement, int64, error)
	WatchPlacements(ctx context.Context, machine string, after int64) <-chan registry.PlacementEvent
	// File returns a unit file's normalized text by its hash.
	File(ctx context.Context, h unit.Hash) ([]byte, error)
}

var _ Store = (*registry.Registry)(nil)

// Config describes this Machine.
type Config struct {
	MachineID string
	PublicIP  string
	Metadata  map[string]string
	API       string            // URL of this machine's agent API, advertised in its record
	Capacity  registry.Capacity // what this machine has, advertised in its record
	Version   string            // the flotad version, advertised in its record
	TTL       time.Duration     // lease TTL: how long a silent machine counts as present

	// Systemd is this machine's systemd. Nil: the Agent registers and
	// follows its Placements but runs no unit and publishes no state.
	Systemd Systemd
	// Debounce is the least time between two passes of the Agent over
	// its units: the first change after a quiet spell is acted on at
	// once, the changes that follow within Debounce are gathered into the
	// next pass, so that N Placements cost one pass, and at most one
	// daemon-reload (default 10ms).
	Debounce time.Duration
	// Resync, when positive, rereads the unit directory and systemd's view
	// that often, as a safety net for changes no signal reports (a unit
	// file deleted by hand). Zero: act only on changes and signals.
	Resync time.Duration
	// Containers runs the units that have an [X-Container] section. Nil:
	// this machine runs no containers (see ContainerRuntime).
	Containers ContainerRuntime
	// Disconnect is the cluster's default OnDisconnect=.
	Disconnect unit.Disconnect
	// FenceLead is how long before its lease can end this machine stops the
	// units that stop on disconnect (default DefaultFenceLead, at most a
	// third of TTL).
	FenceLead time.Duration
	// Observer is told of passes and pulls, for metrics (default: none).
	Observer Observer
	// RecordCheck is how often the Agent reads its machine's record and
	// writes it back if something else deleted or changed it (default
	// DefaultRecordCheck; negative: only when units leave the machine).
	RecordCheck time.Duration
	// Clock tells the time (default the system's).
	Clock clock.Clock
	// OnFence, if set, is told each time the fence rises (true) or falls,
	// after the units were stopped: simulations count the fences raised on
	// machines whose leases never ended.
	OnFence func(raised bool)
}

// Agent keeps this Machine registered and its view of its Placements
// current.
type Agent struct {
	store Store
	cfg   Config
	log   *slog.Logger

	drv  *driver // nil without Systemd
	fuse *fuse   // nil without Systemd

	mu         sync.Mutex
	placements map[string]registry.Placement // unit -> placement on this machine
	read       bool                          // placements were read at least once
	changed    chan struct{}                 // closed and replaced on every change

	registered atomic.Bool   // a registration is live now
	first      chan struct{} // closed at the first registration
	firstOnce  sync.Once
}

// New returns an Agent for the machine cfg describes.
func New(store Store, cfg Config, log *slog.Logger) *Agent {
	if cfg.TTL == 0 {
		cfg.TTL = 5 * time.Second
	}
	if cfg.FenceLead == 0 {
		cfg.FenceLead = DefaultFenceLead
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	if cfg.RecordCheck == 0 {
		cfg.RecordCheck = DefaultRecordCheck
	}
	a := &Agent{store: store, cfg: cfg, log: log, placements: map[string]registry.Placement{}, changed: make(chan struct{}), first: make(chan struct{})}
	if cfg.Systemd != nil {
		a.drv = newDriver(cfg.Systemd, store.File, a.snapshot, cfg, log)
		set := a.drv.setFenced
		if cfg.OnFence != nil {
			set = func(ctx context.Context, on bool) {
				a.drv.setFenced(ctx, on)
				cfg.OnFence(on)
			}
		}
		a.fuse = newFuse(cfg.Clock, cfg.TTL, cfg.FenceLead, set)
	}
	return a
}

// Run registers, follows Placements and, with Systemd, runs them until ctx
// ends. It stops no unit when it returns: units outlive their agent.
func (a *Agent) Run(ctx context.Context) error {
	if a.drv == nil {
		return a.follow(ctx)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	drvErr := make(chan error, 1)
	go func() {
		drvErr <- a.drv.run(ctx)
		cancel() // systemd lost: end the sessions too
	}()
	fuseDone := make(chan struct{})
	go func() { defer close(fuseDone); a.fuse.run(ctx) }()
	err := a.follow(ctx)
	cancel()
	<-fuseDone
	if derr := <-drvErr; derr != nil && !errors.Is(derr, context.Canceled) {
		return derr
	}
	return err
}

// follow registers again each time a registration ends, until ctx ends.
func (a *Agent) follow(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := a.session(ctx)
		if ctx.Err() != nil {
			break
		}
		if errors.Is(err, registry.ErrInvalid) {
			return err // a bad machine ID or metadata does not heal by retrying
		}
		a.log.Warn("agent session ended; registering again", "machine", a.cfg.MachineID, "err", err, "retry_in", backoff)
		sleep(ctx, backoff)
		// At most a second apart: a machine back from a partition must be
		// registered again, and its stale copies stopped, within seconds.
		backoff = min(2*backoff, time.Second)
	}
	return ctx.Err()
}

// session is one registration: it lasts until the lease is lost or the
// placement watch breaks.
func (a *Agent) session(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m := registry.Machine{ID: a.cfg.MachineID, IP: a.cfg.PublicIP, Metadata: a.cfg.Metadata, API: a.cfg.API, Capacity: a.cfg.Capacity, Version: a.cfg.Version}
	presence, err := a.store.Register(ctx, m, a.cfg.TTL)
	if err != nil {
		return err
	}
	if a.fuse != nil {
		a.fuse.renew(<-presence.Acked(), false) // the new lease runs from its asking
		a.fuse.follow(presence.LastAnswer)
		defer a.fuse.follow(nil)
	}
	a.log.Info("machine registered", "machine", m.ID, "ip", m.IP, "metadata", m.Metadata)
	a.registered.Store(true)
	defer a.registered.Store(false)
	a.firstOnce.Do(func() { close(a.first) })
	if a.drv != nil {
		a.drv.setPublisher(presence) // a new lease holds no state rows: publish all
		defer a.drv.setPublisher(nil)
	}
	rctx, rcancel := context.WithTimeout(ctx, registry.CallTimeout)
	ps, rev, err := a.store.MachinePlacements(rctx, m.ID)
	rcancel()
	if err != nil {
		return err
	}
	a.reset(ps)
	if a.fuse != nil {
		a.fuse.renew(time.Time{}, true) // Placements read under a live lease: what is placed here may run
	}
	events := a.store.WatchPlacements(ctx, m.ID, rev)
	checkRecord := a.checkRecord(ctx, presence)
	for {
		select {
		case at := <-presence.Acked():
			if a.fuse != nil {
				a.fuse.renew(at, true)
			}
		case <-presence.Lost():
			return errors.New("machine lease lost")
		case ev, ok := <-events:
			if !ok {
				return ctx.Err()
			}
			if ev.Err != nil {
				return ev.Err
			}
			if ev.Removed {
				checkRecord() // the Engine moves the units of a machine whose record went
			}
			a.update(ev)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (a *Agent) reset(ps []registry.Placement) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.placements = make(map[string]registry.Placement, len(ps))
	for _, p := range ps {
		a.placements[p.Unit] = p
	}
	a.read = true
	a.notifyLocked()
}

func (a *Agent) update(ev registry.PlacementEvent) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if ev.Removed {
		delete(a.placements, ev.Placement.Unit)
		a.log.Info("unit left this machine", "unit", ev.Placement.Unit)
	} else {
		a.placements[ev.Placement.Unit] = ev.Placement
		a.log.Info("unit placed on this machine", "unit", ev.Placement.Unit, "desired", ev.Placement.Desired, "hash", ev.Placement.Hash.Short())
	}
	a.notifyLocked()
}

func (a *Agent) notifyLocked() {
	close(a.changed)
	a.changed = make(chan struct{})
}

// FusePeeks is how many times the fuse, about to blow, found an answer of
// etcd read off the stream but not yet handed over to this Agent, and did
// not blow: simulations count them, as the fences they were near.
func (a *Agent) FusePeeks() int {
	if a.fuse == nil {
		return 0
	}
	return a.fuse.peeks()
}

// Placed says whether unit is placed on this Machine now.
func (a *Agent) Placed(unit string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.placements[unit]
	return ok
}

// Placements returns this Machine's Placements as last seen, and a channel
// closed at the next change.
func (a *Agent) Placements() (map[string]registry.Placement, <-chan struct{}) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return maps.Clone(a.placements), a.changed
}

// snapshot is Placements, and whether they were read at all yet: before
// that, an empty map does not mean that every unit left.
func (a *Agent) snapshot() (map[string]registry.Placement, <-chan struct{}, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return maps.Clone(a.placements), a.changed, a.read
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// Registered says whether the machine's registration is live now: its
// lease kept alive, its record published.
func (a *Agent) Registered() bool { return a.registered.Load() }

// FirstRegistered is closed once the machine first registered.
func (a *Agent) FirstRegistered() <-chan struct{} { return a.first }
