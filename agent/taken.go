package agent

import (
	"context"
	"maps"

	"github.com/flota-dev/flota/reason"
	"github.com/flota-dev/flota/registry"
)

// untaken returns desired without the units whose names a unit of the
// machine's own holds (Systemd.Foreign): a file the Agent did not write,
// such as its own flotad.service, dbus.service or anything an operator put
// in /etc/systemd/system. Linking a file of its own over such a name would
// replace that unit (a runtime link beats a vendor file), and removing it
// on destroy would stop it. Those units are never written, started,
// fenced or removed; they are published with the condition name-taken and
// listed in the machine's record (publishRefused), for the Engine to
// place them elsewhere.
//
// A name the Agent has written already is its own and is not asked
// about. A name refused once is asked about again on every pass, placed
// or not, so the refusal outlives the placement it moved away and is
// lifted only once the machine's own file is gone.
func (d *driver) untaken(ctx context.Context, desired map[string]registry.Placement) (map[string]registry.Placement, error) {
	var ask []string
	for name := range desired {
		if _, ours := d.onDisk[name]; !ours {
			ask = append(ask, name)
		}
	}
	for name := range d.taken {
		if _, placed := desired[name]; !placed {
			ask = append(ask, name)
		}
	}
	taken := map[string]string{}
	if len(ask) > 0 {
		var err error
		if taken, err = d.sd.Foreign(ctx, ask); err != nil {
			return nil, err
		}
	}
	for name, path := range taken {
		if _, known := d.taken[name]; !known {
			d.log.Warn("a unit placed here has the name of one of this machine's own units: not running it", "unit", name, "file", path)
		}
		d.override[name] = holdBack{cond: reason.ConditionNameTaken, detail: path}
	}
	for name := range d.taken {
		if _, still := taken[name]; !still {
			delete(d.override, name)
		}
	}
	d.taken = taken
	if len(taken) == 0 {
		return desired, nil
	}
	runnable := maps.Clone(desired)
	for name := range taken {
		delete(runnable, name)
	}
	return runnable, nil
}

// publishRefused writes the names the Agent refuses into its machine's
// record when they changed since the registration last had them.
func (d *driver) publishRefused(ctx context.Context, pub Publisher, gen int) error {
	if gen == d.refusedGen && maps.Equal(d.refusedPub, d.taken) {
		return nil
	}
	if gen != d.refusedGen && len(d.taken) == 0 {
		d.refusedGen, d.refusedPub = gen, nil // a fresh record refuses nothing
		return nil
	}
	refused := maps.Clone(d.taken)
	if err := bounded(ctx, func(ctx context.Context) error { return pub.Refuse(ctx, refused) }); err != nil {
		return err
	}
	d.refusedGen, d.refusedPub = gen, refused
	return nil
}
