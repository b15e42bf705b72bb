package engine

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flota-dev/flota/clock"
	"github.com/flota-dev/flota/reason"
	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/unit"
)

// Store is what the Engine needs of the registry.
type Store interface {
	Campaign(ctx context.Context, id string, ttl time.Duration) (*registry.Leadership, error)
	LoadCluster(ctx context.Context, log *slog.Logger) (*registry.Cluster, error)
	WatchCluster(ctx context.Context, from int64) <-chan registry.ClusterUpdate
	Apply(ctx context.Context, l *registry.Leadership, c *registry.Cluster, changes []registry.Change) (registry.Applied, error)
	FileHashes(ctx context.Context) ([]unit.Hash, error)
	CollectFiles(ctx context.Context, l *registry.Leadership, c *registry.Cluster, hashes []unit.Hash) error
	ReadStates(ctx context.Context, machines []string, keys []registry.StateKey) (map[string]map[string]registry.UnitState, error)
}

var _ Store = (*registry.Registry)(nil)

// Config tunes an Engine.
type Config struct {
	ID        string        // this engine's name in the election (the machine ID)
	LeaderTTL time.Duration // how long leadership outlives a silent engine; default DefaultTTL
	Resync    time.Duration // safety-net full reload; default 5m
	// MachineTTL is the machines' lease: how long units stay on machines
	// whose loss is doubtful (see absences); default DefaultTTL.
	MachineTTL time.Duration
	// StopMargin is how long after a machine's lease expired its units that
	// stop on disconnect wait before they are placed elsewhere; default
	// DefaultStopMargin.
	StopMargin time.Duration
	// Disconnect is the cluster's default OnDisconnect=.
	Disconnect unit.Disconnect
	// Clock tells the time; default the system's.
	Clock clock.Clock
	// Observer is told of leadership, passes and unplaced units, for
	// metrics (default: none).
	Observer Observer
	// Rebalance tunes rebalancing (rebalance.go); the zero value moves
	// nothing.
	Rebalance Rebalance
	// Batch is how long the Engine goes on gathering watch events after
	// the first of a burst before it schedules them in one pass; default
	// DefaultBatch, negative for no wait (what is already waiting is still
	// taken).
	Batch time.Duration
	// MaxBatch bounds the key changes one pass gathers before it
	// schedules; default DefaultMaxBatch.
	MaxBatch int
}

// A submit of many units is many transactions (registry.Apply's limit on
// operations each), and each reaches the watch as an update of its own:
// without a window the Engine ran about one pass per transaction. A few
// milliseconds, against the tens a settled pass of 10,000 units costs,
// make a burst one pass; the bound keeps a pass's input, and the wait for
// its first decision, bounded when events keep coming.
const (
	DefaultBatch    = 3 * time.Millisecond
	DefaultMaxBatch = 20000
)

// DefaultTTL is the default lease of machines and of engine leadership.
const DefaultTTL = 5 * time.Second

// DefaultStopMargin covers what may separate the agent's view of its lease
// from etcd's: the keep-alive answer's trip back, the agent's stop taking
// effect, and clock rate drift over one TTL.
const DefaultStopMargin = 500 * time.Millisecond

// Engine campaigns for leadership and, while it leads, keeps Placements in
// line with Units and Machines.
type Engine struct {
	store Store
	cfg   Config
	log   *slog.Logger
	in    *inputs
	// passes counts scheduling passes, for tests and benchmarks; narrowed
	// those that were incremental ones (State.Next) and decided only what
	// changed.
	passes, narrowed atomic.Int64
	// decided is the revision of the cache the Engine last decided on
	// (passed, or found nothing to pass for), for tests; decidedMu guards
	// onDecide, closed and replaced each time it is stored.
	decided   atomic.Int64
	decidedMu sync.Mutex
	onDecide  chan struct{}
	leading   atomic.Bool
}

// New returns an Engine over store.
func New(store Store, cfg Config, log *slog.Logger) *Engine {
	if cfg.LeaderTTL == 0 {
		cfg.LeaderTTL = DefaultTTL
	}
	if cfg.MachineTTL == 0 {
		cfg.MachineTTL = DefaultTTL
	}
	if cfg.StopMargin == 0 {
		cfg.StopMargin = DefaultStopMargin
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	if cfg.Observer == nil {
		cfg.Observer = noObserver{}
	}
	if cfg.Resync == 0 {
		cfg.Resync = 5 * time.Minute
	}
	if cfg.Batch == 0 {
		cfg.Batch = DefaultBatch
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = DefaultMaxBatch
	}
	return &Engine{store: store, cfg: cfg, log: log, in: newInputs(), onDecide: make(chan struct{})}
}

// Passes is how many scheduling passes the Engine ran.
func (e *Engine) Passes() int64 { return e.passes.Load() }

// Narrowed is how many of its passes decided only what changed since the
// pass before (State.Next).
func (e *Engine) Narrowed() int64 { return e.narrowed.Load() }

// Decided is the revision of the cluster the Engine last decided on: it
// ran the pass that revision called for, or found none was.
func (e *Engine) Decided() int64 { return e.decided.Load() }

// WaitDecided waits until the Engine decided on revision rev or a later
// one, or ctx ends.
func (e *Engine) WaitDecided(ctx context.Context, rev int64) error {
	for {
		e.decidedMu.Lock()
		ch := e.onDecide
		e.decidedMu.Unlock()
		if e.decided.Load() >= rev {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// decide records that the Engine decided on revision rev.
func (e *Engine) decide(rev int64) {
	e.decided.Store(rev)
	e.decidedMu.Lock()
	close(e.onDecide)
	e.onDecide = make(chan struct{})
	e.decidedMu.Unlock()
}

// Run campaigns, leads until leadership is lost, and campaigns again, until
// ctx ends. Losing etcd is not fatal: the Engine waits and tries again, and
// while it cannot reach etcd it decides nothing.
func (e *Engine) Run(ctx context.Context) error {
	backoff := time.Second
	for ctx.Err() == nil {
		w := e.warmUp(ctx)
		l, err := e.store.Campaign(ctx, e.cfg.ID, e.cfg.LeaderTTL)
		kept := w.stop()
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			e.log.Warn("engine campaign failed", "err", err, "retry_in", backoff)
			sleep(ctx, backoff)
			backoff = min(2*backoff, 30*time.Second)
			continue
		}
		backoff = time.Second
		e.log.Info("engine leads", "id", e.cfg.ID, "warm", kept.c != nil, "settled", kept.since != nil && kept.since.state != nil)
		e.leading.Store(true)
		e.cfg.Observer.Leading(true)
		err = e.lead(ctx, l, kept)
		e.leading.Store(false)
		e.cfg.Observer.Leading(false)
		resignCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		_ = l.Resign(resignCtx)
		cancel()
		if err != nil && ctx.Err() == nil {
			e.log.Warn("engine stopped leading", "err", err)
			sleep(ctx, time.Second)
		}
	}
	return ctx.Err()
}

// lead runs scheduling passes while l holds, from what it kept while it
// stood by when it has it.
func (e *Engine) lead(ctx context.Context, l *registry.Leadership, kept followed) error {
	c := kept.c
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-l.Done():
			cancel()
		case <-ctx.Done():
		}
	}()
	if c == nil {
		t0 := time.Now()
		var err error
		if c, err = e.store.LoadCluster(ctx, e.log); err != nil {
			return err
		}
		e.log.Debug("cluster loaded", "revision", c.Revision, "units", len(c.Units), "machines", len(c.Machines), "took", time.Since(t0))
	}
	updates := e.store.WatchCluster(ctx, c.Revision+1)
	resync := time.NewTicker(e.cfg.Resync)
	defer resync.Stop()
	absent := newAbsences(e.cfg.MachineTTL)
	var waitFor int64         // revision of our last write: schedule again once the cache has it
	var wake <-chan time.Time // armed while a hold on an absent machine will end
	// dirty says something changed that the last pass did not decide on:
	// a change of anyone else's, a wake, a reload. The Engine's own writes
	// coming back are not one: a pass of the cluster its last plan left
	// plans nothing and asks to run no sooner (one-pass convergence, which
	// every step of the scheduler's property tests checks), so that pass,
	// a whole one for each that wrote, is skipped.
	dirty := true
	var ours registry.Applied // what the last pass wrote
	since := &sinceLast{}     // what changed since the last pass, for an incremental one
	if kept.since != nil && kept.since.state != nil && kept.absent != nil {
		// The standby's settled run, with the absences it ran with: they
		// know since when the machines it watched go have gone.
		since, absent = kept.since, kept.absent
	}
	mark := func(u registry.ClusterUpdate) {
		if !u.Only(ours.Wrote) {
			dirty = true
			since.note(c, u)
		}
	}
	for {
		if c.Revision >= waitFor && dirty {
			written, at, err := e.pass(ctx, l, c, absent, since)
			dirty, ours = false, written
			wake = nil
			if !at.IsZero() {
				wake = e.cfg.Clock.After(at.Sub(e.cfg.Clock.Now()))
			}
			switch {
			case err == nil:
				waitFor = written.Revision()
			case errors.Is(err, registry.ErrStale):
				waitFor = c.Revision + 1 // something changed under us: wait for it
				dirty = true
			default:
				return err
			}
		}
		e.decide(c.Revision)
		select {
		case u, ok := <-updates:
			if !ok {
				return ctx.Err()
			}
			if u.Err != nil {
				return u.Err // the caller campaigns again and reloads
			}
			c.Apply(u)
			mark(u)
			if err := e.gather(ctx, updates, c, u, mark); err != nil {
				return err
			}
		case <-wake:
			wake = nil // a hold ended: the pass at the top decides again
			dirty = true
		case <-resync.C:
			fresh, err := e.store.LoadCluster(ctx, e.log)
			if err != nil {
				return err
			}
			c = fresh
			waitFor = 0
			dirty = true
			since.state = nil // the next pass is a whole one, of what etcd holds
			e.collect(ctx, l, c)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// gather applies to c, and hands to mark, the updates that follow the
// first (already applied) for the batch window (Config.Batch) or until
// MaxBatch key changes, and then those already waiting, so one pass covers
// a burst. A broken watch's error is returned; a closed channel is left
// for the caller to see.
func (e *Engine) gather(ctx context.Context, updates <-chan registry.ClusterUpdate, c *registry.Cluster, first registry.ClusterUpdate, mark func(registry.ClusterUpdate)) error {
	n := max(first.Events(), 1)
	var window <-chan time.Time
	if e.cfg.Batch > 0 {
		window = e.cfg.Clock.After(e.cfg.Batch)
	}
	for n < e.cfg.MaxBatch {
		var u registry.ClusterUpdate
		var ok bool
		if window == nil {
			select {
			case u, ok = <-updates:
			default:
				return nil
			}
		} else {
			select {
			case u, ok = <-updates:
			case <-window:
				window = nil // the window is over: what is waiting only
				continue
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if !ok {
			return nil
		}
		if u.Err != nil {
			return u.Err
		}
		c.Apply(u)
		mark(u)
		n += max(u.Events(), 1)
	}
	return nil
}

// pass schedules once and applies the plan; it returns what it wrote and
// when to decide again if nothing changes.
//
// A pass is incremental (State.Next) when since holds the State of the
// last one and only units changed since: the Input is built for the
// changed units only, and the absences are those of the last pass, as no
// machine came or went. Otherwise it is whole. A pass whose plan fails to
// apply leaves no State: etcd may hold part of it.
func (e *Engine) pass(ctx context.Context, l *registry.Leadership, c *registry.Cluster, absent *absences, since *sinceLast) (_ registry.Applied, _ time.Time, err error) {
	e.passes.Add(1)
	t0 := time.Now()
	st := since.state
	since.state = nil
	incremental := st != nil && !since.others
	var in Input
	if incremental {
		in = e.in.delta(c, since.units)
		if since.machineGone {
			in.Machines = e.in.machines(c)
		}
	} else {
		in = e.in.build(c)
	}
	in.Now = e.cfg.Clock.Now()
	if incremental && !since.machineGone {
		in.Absent = absent.current()
	} else {
		in.Absent = absent.update(in.Now, presentMachines(c), placedMachines(c))
	}
	in.Disconnect, in.StopMargin = e.cfg.Disconnect, e.cfg.StopMargin
	in.Rebalance = e.cfg.Rebalance
	if len(in.Drains) > 0 || len(c.Moves) > 0 {
		// Moves wait on what agents publish, which the Engine does not
		// watch: it reads those states each pass, and a pass with moves in
		// flight asks for the next one (Plan.Wake).
		if machines, keys := drainReads(c); len(machines)+len(keys) > 0 {
			states, err := e.store.ReadStates(ctx, machines, keys)
			if err != nil {
				return registry.Applied{}, time.Time{}, err
			}
			in.States = states
		}
	}
	t1 := time.Now()
	var plan Plan
	var next *State
	if incremental {
		plan, next = st.Next(Delta{Input: in, Changed: slices.Sorted(maps.Keys(since.units)), SameMachines: !since.machineGone})
	} else {
		plan, next = ScheduleState(in)
	}
	t2 := time.Now()
	since.reset()
	if next.Whole == "" {
		e.narrowed.Add(1)
	}
	units := len(c.Units)
	defer func() { e.observe(c, plan, next.Whole != "", time.Since(t0), err) }()
	if plan.Empty() {
		since.state = next
		e.log.Debug("engine pass", "revision", c.Revision, "units", units, "machines", len(c.Machines), "changes", 0,
			"whole", next.Whole, "build", t1.Sub(t0), "schedule", t2.Sub(t1))
		return registry.Applied{}, plan.Wake, nil
	}
	var written registry.Applied
	written, err = e.store.Apply(ctx, l, c, plan.Changes)
	if err == nil {
		e.logMoves(plan.Changes)
		since.state = next
	}
	e.log.Debug("engine pass", "revision", c.Revision, "units", units, "machines", len(c.Machines),
		"changes", len(plan.Changes), "absent", len(in.Absent), "whole", next.Whole, "build", t1.Sub(t0), "schedule", t2.Sub(t1), "apply", time.Since(t2), "err", err)
	return written, plan.Wake, err
}

// sinceLast is what changed since the Engine's last pass, other than by
// its own writes, and the State that pass left.
type sinceLast struct {
	state       *State
	units       map[string]bool // units whose record, placements, reason or notes changed
	machineGone bool            // a machine's record was deleted
	others      bool            // a machine registered or changed, labels, drains or moves changed
}

func (s *sinceLast) note(c *registry.Cluster, u registry.ClusterUpdate) {
	names, gone, others := c.Touched(u)
	if s.units == nil {
		s.units = map[string]bool{}
	}
	for _, n := range names {
		s.units[n] = true
	}
	s.machineGone = s.machineGone || gone
	s.others = s.others || others
}

func (s *sinceLast) reset() { s.units, s.machineGone, s.others = nil, false, false }

func presentMachines(c *registry.Cluster) map[string]bool {
	out := make(map[string]bool, len(c.Machines))
	for id := range c.Machines {
		out[id] = true
	}
	return out
}

func placedMachines(c *registry.Cluster) map[string]bool {
	out := make(map[string]bool, len(c.Machines))
	for _, byMachine := range c.Placements { // unit -> machine -> placement
		for id := range byMachine {
			out[id] = true
		}
	}
	return out
}

// collect deletes unit files no unit refers to any more. It is a chore of
// the periodic reload; failing it only postpones it.
func (e *Engine) collect(ctx context.Context, l *registry.Leadership, c *registry.Cluster) {
	used := map[unit.Hash]bool{}
	for _, u := range c.Units {
		used[u.Hash] = true
	}
	stored, err := e.store.FileHashes(ctx)
	if err != nil {
		e.log.Info("unit file collection postponed", "err", err)
		return
	}
	var unused []unit.Hash
	for _, h := range stored {
		if !used[h] {
			unused = append(unused, h)
		}
	}
	if len(unused) == 0 {
		return
	}
	if err := e.store.CollectFiles(ctx, l, c, unused); err != nil {
		e.log.Info("unit file collection postponed", "err", err)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// logMoves says, at info, each rebalancing move the pass began.
func (e *Engine) logMoves(changes []registry.Change) {
	for _, ch := range changes {
		if mv := ch.Move; mv != nil && !mv.IsZero() {
			e.log.Info("unit moves", "unit", ch.Unit, "from", mv.From, "to", mv.To, "reason", mv.Reason.String())
		}
	}
}

// drainReads names the states moves wait on: every state a draining
// machine publishes, that of each copy a unit on a draining machine
// moves to (its placement on another machine), and for a rebalancing move
// in flight (rebalance.go) the copy it moves to, when both are placed, or
// the copy it left, while it is placed nowhere.
func drainReads(c *registry.Cluster) ([]string, []registry.StateKey) {
	machines := make([]string, 0, len(c.Drains))
	for id := range c.Drains {
		machines = append(machines, id)
	}
	slices.Sort(machines)
	var keys []registry.StateKey
	for name, byMachine := range c.Placements { // unit -> machine
		if len(c.Drains) == 0 {
			break // no unit moves off a draining machine: a pass need not look at every placement
		}
		if len(byMachine) < 2 {
			continue
		}
		moving := false
		for m := range byMachine {
			_, draining := c.Drains[m]
			moving = moving || draining
		}
		for m := range byMachine {
			if _, draining := c.Drains[m]; moving && !draining {
				keys = append(keys, registry.StateKey{Machine: m, Unit: name})
			}
		}
	}
	for name, mv := range c.Moves {
		byMachine := c.Placements[name]
		_, onFrom := byMachine[mv.From]
		_, onTo := byMachine[mv.To]
		_, draining := c.Drains[mv.To]
		switch u, ok := c.Units[name]; {
		case !ok || u.Desired == registry.StateInactive:
		case len(byMachine) == 0:
			keys = append(keys, registry.StateKey{Machine: mv.From, Unit: name})
		case onFrom && onTo && !draining && len(byMachine) == 2:
			keys = append(keys, registry.StateKey{Machine: mv.To, Unit: name})
		}
	}
	slices.SortFunc(keys, func(a, b registry.StateKey) int {
		if a.Machine != b.Machine {
			return strings.Compare(a.Machine, b.Machine)
		}
		return strings.Compare(a.Unit, b.Unit)
	})
	return machines, slices.Compact(keys)
}

// observe tells the Observer of a pass: its counts, and the unplaced
// units as the cluster holds them with the plan's changes over them,
// walked, not copied (there may be thousands, and a pass for one unit).
func (e *Engine) observe(c *registry.Cluster, plan Plan, whole bool, took time.Duration, err error) {
	put, removed := 0, 0
	for _, ch := range plan.Changes {
		put += len(ch.Put)
		removed += len(ch.Delete)
	}
	e.cfg.Observer.Pass(whole, took, len(plan.Changes), put, removed, err)
	if err != nil {
		return
	}
	changed := map[string]*reason.Unplaced{}
	for _, ch := range plan.Changes {
		if ch.Unplaced != nil {
			changed[ch.Unit] = ch.Unplaced
		}
	}
	e.cfg.Observer.Unplaced(func(yield func(reason.Unplaced) bool) {
		for u, r := range c.Unplaced {
			if _, over := changed[u]; !over && !yield(r) {
				return
			}
		}
		for _, r := range changed {
			if !r.IsZero() && !yield(*r) {
				return
			}
		}
	})
}

// Leading says whether this Engine leads now.
func (e *Engine) Leading() bool { return e.leading.Load() }
