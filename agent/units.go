package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/flota-dev/flota/agent/runtime"
	"github.com/flota-dev/flota/clock"
	"github.com/flota-dev/flota/reason"
	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/unit"
)

// driver makes systemd run this machine's Placements and publishes what
// systemd says of them. It outlives registrations: what it remembers and
// what it did carry over, and each new Presence gets every state again.
//
// It acts only when something happened (the Placements changed, systemd
// signalled a change to one of its units, a registration began, or a
// failed pass is retried): an idle machine costs no timer and no call.
type driver struct {
	sd         Systemd
	rt         ContainerRuntime // nil: no containers on this machine
	file       func(ctx context.Context, h unit.Hash) ([]byte, error)
	placements func() (ps map[string]registry.Placement, changed <-chan struct{}, read bool)
	machine    string
	debounce   time.Duration
	resync     time.Duration
	obs        Observer
	log        *slog.Logger

	mu     sync.Mutex
	pub    Publisher // nil between registrations
	pubGen int       // bumped by every setPublisher
	kick   chan struct{}
	clock  clock.Clock

	// Owned by run.
	cache     map[unit.Hash][]byte    // unit files by hash
	parsed    map[parsedKey]Container // placed container units' files, parsed
	mem       Memory
	onDisk    map[string]unit.Hash  // nil until read
	status    map[string]UnitStatus // systemd's view of our units
	published map[string]registry.UnitState
	pubSeen   int
	templates map[string]bool // placed templates already logged
	reloadDue bool            // a daemon-reload failed after files changed
	// override is why the Agent holds a placed unit back, published as
	// its condition (held.go).
	override map[string]holdBack
	// taken are the units refused as named like the machine's own, name ->
	// that unit's file (taken.go); refusedPub is what registration
	// refusedGen's record says of them.
	taken      map[string]string
	refusedPub map[string]string
	refusedGen int
	starts     sync.WaitGroup // start jobs under way
	// sweepDue asks for a container store sweep after the next pass;
	// sweepAt is when the last sweep said something falls due.
	sweepDue bool
	sweepAt  time.Time
	pulls    pulls

	disconnect unit.Disconnect     // the cluster's default OnDisconnect=
	policies   map[stopPolicy]bool // owned by run
	// The fence (fence.go), shared with the session's fuse.
	fenceMu      sync.Mutex
	fenced       bool
	stopsOnLoss  map[string]bool // placed units that stop on disconnect
	fenceStopped map[string]bool // units the fence stopped, to forget as started
}

func newDriver(sd Systemd, file func(context.Context, unit.Hash) ([]byte, error),
	placements func() (map[string]registry.Placement, <-chan struct{}, bool), cfg Config, log *slog.Logger) *driver {
	if cfg.Debounce <= 0 {
		cfg.Debounce = 10 * time.Millisecond
	}
	if cfg.Observer == nil {
		cfg.Observer = noObserver{}
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	return &driver{
		sd: sd, rt: cfg.Containers, file: file, placements: placements, machine: cfg.MachineID,
		debounce: cfg.Debounce, resync: cfg.Resync, obs: cfg.Observer, log: log,
		kick:  make(chan struct{}, 1),
		cache: map[unit.Hash][]byte{}, mem: Memory{}.clone(), status: map[string]UnitStatus{},
		published: map[string]registry.UnitState{}, templates: map[string]bool{},
		override:   map[string]holdBack{},
		parsed:     map[parsedKey]Container{},
		sweepDue:   true, // what a crash left behind
		pulls:      pulls{running: map[string]bool{}, progress: map[string]runtime.PullProgress{}, failed: map[string]error{}},
		clock:      cfg.Clock,
		disconnect: cfg.Disconnect, policies: map[stopPolicy]bool{}, fenceStopped: map[string]bool{},
	}
}

// setPublisher hands over the Presence of a new registration (nil when it
// ends): everything is published to it again.
func (d *driver) setPublisher(p Publisher) {
	d.mu.Lock()
	d.pub, d.pubGen = p, d.pubGen+1
	d.mu.Unlock()
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

func (d *driver) publisher() (Publisher, int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.pub, d.pubGen
}

// run acts until ctx ends. It never stops a unit on the way out: units
// outlive the agent (fleet stopped every unit when fleetd stopped).
func (d *driver) run(ctx context.Context) error {
	events, err := d.sd.Watch(ctx)
	if err != nil {
		return fmt.Errorf("watch systemd: %w", err)
	}
	defer d.starts.Wait()
	defer d.pulls.wg.Wait()
	var resync <-chan time.Time
	if d.resync > 0 {
		t := time.NewTicker(d.resync)
		defer t.Stop()
		resync = t.C
	}
	full, dirty := true, map[string]bool{}
	var due, retry, sweep <-chan time.Time // armed only while there is work
	var last time.Time                     // when the last pass ended
	backoff := time.Second
	// seen belongs to the snapshot acted on (or looked at) last: any later
	// change closes it. Taking a fresh channel each turn instead would lose
	// a change made between a snapshot and the next turn's read.
	ps, seen, read := d.placements()
	for {
		pending := false
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-seen:
			ps, seen, read = d.placements()
			full, pending = true, true
		case name, open := <-events:
			if !open {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return ErrSystemdLost
			}
			if name == "" {
				full, pending = true, true
			} else if d.owns(ps, name) {
				dirty[name], pending = true, true
			}
		case <-d.kick:
			// A new registration, or the fence, which stops units from
			// outside this loop: systemd's view is read afresh, as the
			// signals of those stops may not have come yet.
			full, pending = true, true
		case <-retry:
			retry, full, pending = nil, true, true
		case <-resync:
			full, pending = true, true
		case <-sweep:
			sweep, pending = nil, true
		case <-due:
			due = nil
			ps, seen, read = d.placements() // act on the latest
			if !read {
				continue // never act before the Placements were read once
			}
			t0 := time.Now()
			err := d.pass(ctx, ps, full, dirty)
			d.obs.Reconciled(time.Since(t0), err)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				d.log.Warn("reconciling units; retrying", "err", err, "retry_in", backoff)
				retry = time.After(backoff)
				backoff = min(2*backoff, time.Minute)
			} else {
				backoff = time.Second
			}
			full, dirty, last = false, map[string]bool{}, time.Now()
			if sweep = nil; !d.sweepAt.IsZero() {
				sweep = time.After(time.Until(d.sweepAt))
			}
		}
		if pending && due == nil {
			// The first change after a quiet spell is acted on at once (a
			// start waits for no timer); what comes during a pass or within
			// debounce of its end waits for the next one, so that a burst
			// costs one pass per debounce, however many changes it brings.
			due = time.After(d.debounce - time.Since(last))
		}
	}
}

// owns reports whether a signalled unit is one of ours.
func (d *driver) owns(ps map[string]registry.Placement, name string) bool {
	_, placed := ps[name]
	_, onDisk := d.onDisk[name]
	return placed || onDisk
}

// pass reads what it must, reconciles, acts and publishes. A full pass
// rereads the unit directory and systemd's view of every unit; otherwise
// only the units systemd signalled are asked about.
func (d *driver) pass(ctx context.Context, desired map[string]registry.Placement, full bool, dirty map[string]bool) error {
	if d.reloadDue {
		if err := d.sd.Reload(ctx); err != nil {
			return err
		}
		d.reloadDue, full = false, true
	}
	first := d.onDisk == nil
	if full || first {
		onDisk, err := d.sd.UnitFiles(ctx)
		if err != nil {
			return err
		}
		d.onDisk = onDisk
	}
	names := d.names(desired)
	ask := names
	if !full {
		ask = slices.DeleteFunc(slices.Clone(names), func(n string) bool {
			_, known := d.status[n]
			return known && !dirty[n]
		})
	}
	if err := d.refresh(ctx, ask); err != nil {
		return err
	}
	ours := make(map[string]bool, len(names))
	for _, n := range names {
		ours[n] = true
	}
	maps.DeleteFunc(d.status, func(n string, _ UnitStatus) bool { return !ours[n] })

	var stale map[string]bool
	if first {
		var err error
		if stale, err = d.stale(ctx, desired); err != nil {
			d.onDisk = nil // the retry asks again
			return err
		}
	}
	runnable, err := d.untaken(ctx, desired)
	if err != nil {
		return err
	}
	plan, fetchErr := d.plan(ctx, runnable, stale)
	d.noteTemplates(plan.Templates)
	for _, n := range plan.Unrunnable {
		if _, ok := d.override[n]; !ok {
			d.log.Warn("a container unit is placed on this machine, which runs no containers; not writing it", "unit", n)
		}
		d.override[n] = holdBack{cond: reason.ConditionNoContainerRuntime}
	}
	maps.DeleteFunc(d.override, func(n string, _ holdBack) bool {
		_, placed := desired[n]
		return !placed
	})
	var applyErr error
	if !plan.Empty() {
		applyErr = d.apply(ctx, plan)
		d.forgetReported()
		// Read back what the plan changed (all of it after a reload).
		if err := d.refresh(ctx, d.names(desired)); err != nil {
			applyErr = errors.Join(applyErr, err)
		}
	}
	d.mem = plan.Memory
	pubErr := d.publish(ctx, desired)
	d.sweep(ctx, desired, time.Now())
	return errors.Join(fetchErr, applyErr, pubErr)
}

// names is every unit to ask systemd about: ours, without templates.
func (d *driver) names(desired map[string]registry.Placement) []string {
	return slices.DeleteFunc(unitNames(desired, d.onDisk), unit.IsTemplate)
}

// refresh asks systemd about names.
func (d *driver) refresh(ctx context.Context, names []string) error {
	if len(names) == 0 {
		return nil
	}
	st, err := d.sd.Units(ctx, names)
	if err != nil {
		return err
	}
	for _, n := range names {
		s, ok := st[n]
		if !ok {
			s = notFound
		}
		d.status[n] = s
	}
	return nil
}

// stale asks systemd, when the Agent starts, which of the units it holds
// whose file is the one placed were loaded from an older file: the Agent
// may have stopped between a write and its reload.
func (d *driver) stale(ctx context.Context, desired map[string]registry.Placement) (map[string]bool, error) {
	var ask []string
	for name, h := range d.onDisk {
		if p, ok := desired[name]; ok && p.Hash == h && !unit.IsTemplate(name) && held(d.status[name]) {
			ask = append(ask, name)
		}
	}
	if len(ask) == 0 {
		return nil, nil
	}
	return d.sd.NeedReload(ctx, ask)
}

// plan reconciles, fetching the unit files the plan needs first.
func (d *driver) plan(ctx context.Context, desired map[string]registry.Placement, stale map[string]bool) (Plan, error) {
	// The fence must know every placed unit's policy, also of a unit that
	// runs already and needs no writing (after a restart of the agent):
	// its file is fetched as soon as it is placed, while etcd answers.
	var errs []error
	for _, h := range d.unknownPolicies(desired) {
		if err := d.fetch(ctx, h); err != nil {
			errs = append(errs, err)
		}
	}
	if stopped := slices.DeleteFunc(d.forgetFenceStopped(&d.mem), func(n string) bool {
		_, placed := desired[n]
		return !placed || unit.IsTemplate(n)
	}); len(stopped) > 0 {
		if err := d.refresh(ctx, stopped); err != nil {
			d.markFenceStopped(stopped) // the next pass reads them again
			errs = append(errs, err)
		}
	}
	in := Input{Desired: desired, Files: d.cache, OnDisk: d.onDisk, Units: d.status, Memory: d.mem, NoContainers: d.rt == nil,
		Stale: stale, Fenced: d.fencedUnits(desired)}
	in.Containers, in.Images = d.containers(ctx, desired)
	plan := Reconcile(in)
	if len(plan.Fetch) > 0 {
		for _, h := range plan.Fetch {
			if err := d.fetch(ctx, h); err != nil {
				errs = append(errs, err)
			}
		}
		in.Fenced = d.fencedUnits(desired)
		in.Containers, in.Images = d.containers(ctx, desired)
		plan = Reconcile(in) // units whose file could not be read are left alone
	}
	// Keep only the files still placed: replaced versions go.
	placed := make(map[unit.Hash]bool, len(desired))
	for _, p := range desired {
		placed[p.Hash] = true
	}
	maps.DeleteFunc(d.cache, func(h unit.Hash, _ []byte) bool { return !placed[h] })
	maps.DeleteFunc(d.parsed, func(k parsedKey, _ Container) bool { return desired[k.name].Hash != k.hash })
	return plan, errors.Join(errs...)
}
