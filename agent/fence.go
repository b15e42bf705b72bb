package agent

import (
	"context"
	"maps"
	"slices"

	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/unit"
)

// The fence: while this machine may be losing its lease, the units that stop
// on disconnect (unit.Requirements.StopsOnDisconnect) must not run, so that
// when the engine places them elsewhere, after the lease expired, no second
// copy runs here. The session's fuse raises it; a keep-alive answer before
// the lease's end, or a new registration whose Placements were read, lowers
// it, and the units that are still placed here start again.

// stopPolicy is whether a unit stops on disconnect, memoized by name and
// hash: an instance's [X-Fleet] values depend on its name.
type stopPolicy struct {
	name string
	hash unit.Hash
}

// setFenced raises or lowers the fence. Raising it also stops the units at
// once, from the caller's goroutine: the driver's loop may be waiting on
// etcd, which is what the fence is about.
func (d *driver) setFenced(ctx context.Context, on bool) {
	d.fenceMu.Lock()
	changed := d.fenced != on
	d.fenced = on
	names := slices.Sorted(maps.Keys(d.stopsOnLoss))
	if on && changed {
		// The driver's next pass forgets them as started, so that they
		// start again once the fence is down, even if no pass ran while
		// it was up (the driver may wait on etcd all along).
		for _, n := range names {
			d.fenceStopped[n] = true
		}
	}
	d.fenceMu.Unlock()
	if !changed {
		return
	}
	if on {
		d.log.Warn("etcd has not answered for most of the lease: stopping the units that stop on disconnect", "units", names)
		for name, err := range d.stopAll(ctx, names) {
			d.log.Warn("could not stop a unit at the fence", "unit", name, "err", err)
		}
	} else {
		d.log.Info("etcd answers again: units that stop on disconnect may run", "units", names)
	}
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// forgetFenceStopped drops from m what it remembers as started of the
// units the fence stopped, once the fence is down, and returns them: a
// pass that read systemd's view before the fence stopped them (it may have
// waited on etcd since) must read it again, or it would take them for
// running and remember them as started, never to start them again. While
// the fence is up they stay marked: Reconcile forgets them as started
// anyway (Input.Fenced), and the fence's stops may still be under way.
func (d *driver) forgetFenceStopped(m *Memory) []string {
	d.fenceMu.Lock()
	defer d.fenceMu.Unlock()
	if d.fenced {
		return nil
	}
	names := slices.Sorted(maps.Keys(d.fenceStopped))
	for _, n := range names {
		delete(m.Started, n)
	}
	clear(d.fenceStopped)
	return names
}

// markFenceStopped marks names again, for a later pass to forget.
func (d *driver) markFenceStopped(names []string) {
	d.fenceMu.Lock()
	defer d.fenceMu.Unlock()
	for _, n := range names {
		d.fenceStopped[n] = true
	}
}

// isFenced says whether name must not be started now.
func (d *driver) isFenced(name string) bool {
	d.fenceMu.Lock()
	defer d.fenceMu.Unlock()
	return d.fenced && d.stopsOnLoss[name]
}

// unknownPolicies lists the files to fetch to know whether each placed
// unit stops on disconnect.
func (d *driver) unknownPolicies(desired map[string]registry.Placement) []unit.Hash {
	var out []unit.Hash
	for name, p := range desired {
		if _, known := d.policies[stopPolicy{name, p.Hash}]; known || unit.IsTemplate(name) {
			continue
		}
		if _, have := d.cache[p.Hash]; !have && !slices.Contains(out, p.Hash) {
			out = append(out, p.Hash)
		}
	}
	return out
}

// fencedUnits works out which placed units stop on disconnect, from the
// files at hand, remembers them for the fence, and returns them while the
// fence is up (nil otherwise).
func (d *driver) fencedUnits(desired map[string]registry.Placement) map[string]bool {
	stops := map[string]bool{}
	for name, p := range desired {
		key := stopPolicy{name, p.Hash}
		s, ok := d.policies[key]
		if !ok {
			data, have := d.cache[p.Hash]
			if !have {
				// Its file could not be fetched yet (asked again next
				// pass): it counts as stopping, as it may.
				stops[name] = !unit.IsTemplate(name)
				continue
			}
			c := d.parse(name, p.Hash, data)
			s = c.Err == nil && c.File.Fleet.StopsOnDisconnect(d.disconnect)
			d.policies[key] = s
		}
		if s {
			stops[name] = true
		}
	}
	maps.DeleteFunc(stops, func(_ string, s bool) bool { return !s })
	maps.DeleteFunc(d.policies, func(k stopPolicy, _ bool) bool { return desired[k.name].Hash != k.hash })
	d.fenceMu.Lock()
	defer d.fenceMu.Unlock()
	d.stopsOnLoss = stops
	if !d.fenced {
		return nil
	}
	return maps.Clone(stops)
}
