package agent

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/flota-dev/flota/registry"
)

// Store is what the Agent needs of the registry.
type Store interface {
	Register(ctx context.Context, m registry.Machine, ttl time.Duration) (*registry.Presence, error)
	MachinePlacements(ctx context.Context, machine string) ([]registry.Placement, int64, error)
	WatchPlacements(ctx context.Context, machine string, after int64) <-chan registry.PlacementEvent
}

var _ Store = (*registry.Registry)(nil)

// Config describes this Machine.
type Config struct {
	MachineID string
	PublicIP  string
	Metadata  map[string]string
	API       string        // URL of this machine's agent API, advertised in its record
	TTL       time.Duration // lease TTL: how long a silent machine counts as present
}

// Agent keeps this Machine registered and its view of its Placements
// current.
type Agent struct {
	store Store
	cfg   Config
	log   *slog.Logger

	mu         sync.Mutex
	placements map[string]registry.Placement // unit -> placement on this machine
	changed    chan struct{}                 // closed and replaced on every change
}

// New returns an Agent for the machine cfg describes.
func New(store Store, cfg Config, log *slog.Logger) *Agent {
	if cfg.TTL == 0 {
		cfg.TTL = 10 * time.Second
	}
	return &Agent{store: store, cfg: cfg, log: log, placements: map[string]registry.Placement{}, changed: make(chan struct{})}
}

// Run registers and follows Placements until ctx ends.
func (a *Agent) Run(ctx context.Context) error {
	backoff := 500 * time.Millisecond
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
		backoff = min(2*backoff, 10*time.Second)
	}
	return ctx.Err()
}

// session is one registration: it lasts until the lease is lost or the
// placement watch breaks.
func (a *Agent) session(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m := registry.Machine{ID: a.cfg.MachineID, IP: a.cfg.PublicIP, Metadata: a.cfg.Metadata, API: a.cfg.API}
	presence, err := a.store.Register(ctx, m, a.cfg.TTL)
	if err != nil {
		return err
	}
	a.log.Info("machine registered", "machine", m.ID, "ip", m.IP, "metadata", m.Metadata)
	ps, rev, err := a.store.MachinePlacements(ctx, m.ID)
	if err != nil {
		return err
	}
	a.reset(ps)
	events := a.store.WatchPlacements(ctx, m.ID, rev)
	for {
		select {
		case <-presence.Lost():
			return errors.New("machine lease lost")
		case ev, ok := <-events:
			if !ok {
				return ctx.Err()
			}
			if ev.Err != nil {
				return ev.Err
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

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
