package agent

import (
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/flota-dev/flota/reason"
	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/unit"
)

// apply carries a plan out, in its order. A unit whose step fails is left
// out of the later steps, and what the plan remembers of it is undone, so
// that the retried pass does it all again. Starts are not waited for: a
// start job lasts as long as the unit takes to come up, and the agent must
// keep acting meanwhile; how they end arrives as systemd signals.
func (d *driver) apply(ctx context.Context, p Plan) error {
	skip := map[string]bool{}
	var errs []error
	fail := func(name string, err error) {
		skip[name] = true
		errs = append(errs, err)
	}
	for _, img := range p.Pull {
		d.startPull(ctx, img)
	}
	// The units the plan holds back say why; a failure makes the pass
	// retry, backing off (a pull again, a file that may be mended).
	for _, name := range slices.Sorted(maps.Keys(p.Hold)) {
		h := p.Hold[name]
		d.override[name] = holdBack{cond: h.Condition, detail: h.Detail}
		if h.Condition.Failed() {
			errs = append(errs, fmt.Errorf("container of %s: %s: %s", name, h.Condition, h.Detail))
		}
	}
	for name, err := range d.stopAll(ctx, slices.DeleteFunc(slices.Clone(p.Stop), func(n string) bool { return skip[n] })) {
		fail(name, err)
	}
	for _, name := range p.Remove {
		if skip[name] {
			continue
		}
		d.log.Info("removing unit", "unit", name)
		if err := d.sd.RemoveUnitFile(ctx, name); err != nil {
			fail(name, err)
			continue
		}
		delete(d.onDisk, name)
		d.sweepDue = true // an image may be left unused (a new version removes the old first)
		// Its container's snapshot goes with it (kept if it failed).
		if err := d.cleanup(ctx, name, d.status[name].Active == "failed"); err != nil {
			fail(name, err)
		}
	}
	// The files are written first and linked in one call: a link costs
	// systemd a scan of its search path.
	var batch []UnitFile
	for _, w := range p.Write {
		if skip[w.Name] {
			continue
		}
		data := w.Data
		container := w.Container != nil
		if container {
			var err error
			if data, err = d.containerFile(ctx, w, w.Container); err != nil {
				d.override[w.Name] = holdBack{cond: reason.ConditionContainerFailed, detail: err.Error()}
				fail(w.Name, fmt.Errorf("prepare container of %s: %w", w.Name, err))
				continue
			}
		}
		d.log.Info("writing unit", "unit", w.Name, "hash", w.Hash.Short(), "bytes", len(data), "container", container)
		batch = append(batch, UnitFile{Name: w.Name, Data: data})
	}
	var werrs map[string]error
	if len(batch) > 0 {
		werrs = d.sd.WriteUnitFiles(ctx, batch)
	}
	for _, w := range p.Write {
		if skip[w.Name] {
			continue
		}
		if err, bad := werrs[w.Name]; bad {
			if w.Container != nil {
				err = errors.Join(err, d.cleanup(ctx, w.Name, false))
			}
			fail(w.Name, err)
			continue
		}
		delete(d.override, w.Name)
		d.onDisk[w.Name] = w.Hash
	}
	for _, name := range p.Enable {
		if !skip[name] {
			if err := d.sd.Enable(ctx, name); err != nil {
				errs = append(errs, err) // the unit still runs; only its [Install] links are missing
			}
		}
	}
	if load := slices.DeleteFunc(slices.Clone(p.Load), func(n string) bool { return skip[n] }); len(load) > 0 {
		st, err := d.sd.Load(ctx, load)
		var need map[string]bool
		if check := slices.DeleteFunc(slices.Clone(p.Check), func(n string) bool { return skip[n] }); err == nil && len(check) > 0 {
			need, err = d.sd.NeedReload(ctx, check)
		}
		if err != nil {
			errs = append(errs, err)
			p.Reload = true // what systemd made of the files is unknown: reread them all
		} else {
			for name, why := range p.Reloads(st, need) {
				d.log.Info("unit needs a daemon-reload", "unit", name, "why", why)
				p.Reload = true
			}
		}
	}
	if p.Reload {
		for name, why := range p.ReloadFor {
			if !skip[name] {
				d.log.Debug("unit needs a daemon-reload", "unit", name, "why", why)
			}
		}
		if err := d.sd.Reload(ctx); err != nil {
			for _, name := range p.Start {
				skip[name] = true
			}
			d.reloadDue = true // the files are in place: the retry must reload
			errs = append(errs, err)
		}
	}
	for name := range skip {
		d.forget(&p.Memory, name)
	}
	for _, name := range p.Start {
		if !skip[name] {
			d.start(ctx, name)
		}
	}
	return errors.Join(errs...)
}

// forget undoes what a plan remembers of a unit it could not act on.
func (d *driver) forget(m *Memory, name string) {
	for _, pair := range []struct{ plan, old map[string]unit.Hash }{
		{m.Started, d.mem.Started}, {m.Relinked, d.mem.Relinked},
	} {
		if h, ok := pair.old[name]; ok {
			pair.plan[name] = h
		} else {
			delete(pair.plan, name)
		}
	}
}

// stopAll stops units, a few at a time (each waits for its job, which
// lasts as long as the unit takes to stop), and returns errors by unit.
func (d *driver) stopAll(ctx context.Context, names []string) map[string]error {
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := map[string]error{}
	slots := make(chan struct{}, 16)
	for _, name := range names {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			d.log.Info("stopping unit", "unit", name)
			if err := d.sd.Stop(ctx, name); err != nil {
				mu.Lock()
				errs[name] = err
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errs
}

// start starts a unit in the background. A unit that fails to start is the
// unit's business, not an error of the agent: it is logged, and systemd's
// signals bring the failed state to the registry.
func (d *driver) start(ctx context.Context, name string) {
	d.log.Info("starting unit", "unit", name)
	d.starts.Add(1)
	go func() {
		defer d.starts.Done()
		if d.isFenced(name) {
			return // the fence rose since the plan was made
		}
		if err := d.sd.Start(ctx, name); err != nil && ctx.Err() == nil {
			d.log.Warn("unit did not start", "unit", name, "err", err)
		}
	}()
}

// fetch reads a unit file from the registry into the cache, checking that
// it is the content its hash names: a file written under a wrong hash would
// be rewritten on every pass.
func (d *driver) fetch(ctx context.Context, h unit.Hash) error {
	var data []byte
	err := bounded(ctx, func(ctx context.Context) error {
		var err error
		data, err = d.file(ctx, h)
		return err
	})
	if err != nil {
		return err
	}
	if got := unit.Hash(sha1.Sum(data)); got != h {
		return fmt.Errorf("unit file %s: content hashes to %s", h, got)
	}
	d.cache[h] = data
	return nil
}

// publish writes the rows that changed since the registration began, and
// deletes this machine's rows of units that left it (only this machine's).
func (d *driver) publish(ctx context.Context, desired map[string]registry.Placement) error {
	pub, gen := d.publisher()
	if pub == nil {
		return nil
	}
	if gen != d.pubSeen {
		d.published, d.pubSeen = map[string]registry.UnitState{}, gen
	}
	want := States(d.machine, desired, d.onDisk, d.status)
	for name, h := range d.override {
		if _, written := d.onDisk[name]; written {
			continue // the version that runs meanwhile is systemd's to report
		}
		if _, placed := desired[name]; !placed || unit.IsTemplate(name) {
			continue
		}
		st := notFound
		want[name] = registry.UnitState{Unit: name, Machine: d.machine, Load: st.Load, Active: st.Active, Sub: st.Sub,
			State: Reached(st), Condition: h.cond, Detail: h.detail}
	}
	var put []registry.UnitState
	for _, name := range slices.Sorted(maps.Keys(want)) {
		if old, ok := d.published[name]; !ok || old != want[name] {
			put = append(put, want[name])
		}
	}
	var del []string
	for _, name := range slices.Sorted(maps.Keys(d.published)) {
		if _, placed := desired[name]; !placed || unit.IsTemplate(name) {
			del = append(del, name)
		}
	}
	if len(put) == 0 && len(del) == 0 {
		return d.publishRefused(ctx, pub, gen)
	}
	// One call for all of them: the machine's changes reach etcd in as few
	// requests as a transaction holds. What a failed call did not write is
	// written by the next publish, which finds it still differing.
	if err := bounded(ctx, func(ctx context.Context) error { return pub.PublishStates(ctx, d.machine, put, del) }); err != nil {
		return err
	}
	for _, s := range put {
		d.published[s.Unit] = s
	}
	for _, name := range del {
		delete(d.published, name)
	}
	return d.publishRefused(ctx, pub, gen)
}

// bounded runs one request to etcd with registry.CallTimeout: the driver's
// loop must never wait on a dead link for long, as it also has units to
// stop and signals to follow meanwhile.
func bounded(ctx context.Context, call func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, registry.CallTimeout)
	defer cancel()
	return call(ctx)
}

// noteTemplates logs each placed template once.
func (d *driver) noteTemplates(names []string) {
	for _, n := range names {
		if !d.templates[n] {
			d.templates[n] = true
			d.log.Warn("a template is placed on this machine; templates are never written or started", "unit", n)
		}
	}
}
