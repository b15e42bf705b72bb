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

// isFenced says whether name must not be started now.
func (d *driver) isFenced(name string) bool {
	d.fenceMu.Lock()
	defer d.fenceMu.Unlock()
	return d.fenced && d.stopsOnLoss[name]
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
				continue // not written yet, so not running
			}
			f, err := unit.Parse(name, data)
			s = err == nil && f.Fleet.StopsOnDisconnect(d.disconnect)
			d.policies[key] = s
		}
		if s {
			stops[name] = true
		}
	}
	maps.DeleteFunc(d.policies, func(k stopPolicy, _ bool) bool { return desired[k.name].Hash != k.hash })
	d.fenceMu.Lock()
	defer d.fenceMu.Unlock()
	d.stopsOnLoss = stops
	if !d.fenced {
		return nil
	}
	return maps.Clone(stops)
}
