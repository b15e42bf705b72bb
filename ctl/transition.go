package ctl

import (
	"context"
	"fmt"

	"github.com/flota-dev/flota/registry"
)

// transition sets the desired state of units and, unless --no-block, waits
// until each reached it, printing "Unit X launched on M" as it does. Global
// units are not waited for: "Triggered global unit X start". It returns the
// units that are not global.
func (c *cli) transition(ctx context.Context, names []string, global map[string]bool, verb string, target registry.State, b blockFlags) ([]string, error) {
	if err := c.setDesired(ctx, names, target); err != nil {
		return nil, err
	}
	var plain []string
	for _, n := range names {
		if global[n] {
			fmt.Fprintf(c.out, "Triggered global unit %s %s\n", n, verb)
			continue
		}
		plain = append(plain, n)
	}
	if b.noBlock {
		for _, n := range plain {
			fmt.Fprintf(c.out, "Triggered unit %s %s\n", n, verb)
		}
		return plain, nil
	}
	return plain, c.waitFor(ctx, waitItems(plain, nil), target, b.attempts, c.reachedMessage(target))
}

// waitItems lists names to wait for, global ones marked as such.
func waitItems(names []string, global map[string]bool) []waitItem {
	out := make([]waitItem, len(names))
	for i, n := range names {
		out[i] = waitItem{name: n, global: global[n]}
	}
	return out
}

// submitAndSet is load and start: submit the units that are not in the
// cluster yet, then move all of them to target. A unit found nowhere is
// left out and the others go on (see ensureUnits).
func (c *cli) submitAndSet(ctx context.Context, cmd *command, args []string, replace bool, b blockFlags, target registry.State) error {
	if err := b.check(cmd); err != nil {
		return err
	}
	us, err := parseUnitArgs(args)
	if err != nil {
		return err
	}
	if err := refuseTemplates(cmd.name, us); err != nil {
		return err
	}
	e, err := c.ensureUnits(ctx, us, replace)
	if err != nil {
		return err
	}
	if _, err := c.transition(ctx, e.names, e.global, cmd.name, target, b); err != nil {
		return err
	}
	return e.left.err()
}

// registered is what a command on units already in the cluster acts on:
// the records of the units named that are there and that it can apply to,
// in the order given. The others were said on stderr and are in left.
type registered struct {
	units []registry.Unit
	left  *leftOut
}

func (r registered) names() []string {
	out := make([]string, len(r.units))
	for i, u := range r.units {
		out[i] = u.Name
	}
	return out
}

// registeredArgs is the start of the commands that act on units already in
// the cluster: check the flags, parse the arguments (refusing templates when
// the command cannot apply to one; a bad name or a template is a mistake in
// the command line, which stops it), read the units. A unit that is not in
// the cluster ("Unit X not found"), or that usable (if not nil) refuses, is
// left out, so that the command acts on the others; if that leaves none, it
// returns the partialError.
func (c *cli) registeredArgs(ctx context.Context, cmd *command, b blockFlags, args []string, refuseTpl bool, usable func(registry.Unit) error) (registered, error) {
	if err := b.check(cmd); err != nil {
		return registered{}, err
	}
	us, err := parseUnitArgs(args)
	if err != nil {
		return registered{}, err
	}
	if refuseTpl {
		if err := refuseTemplates(cmd.name, us); err != nil {
			return registered{}, err
		}
	}
	st, err := c.status(ctx)
	if err != nil {
		return registered{}, err
	}
	byName := make(map[string]registry.Unit, len(st.Units))
	for _, u := range st.Units {
		byName[u.Name] = u
	}
	r := registered{left: &leftOut{w: c.errOut}}
	for _, a := range us {
		u, ok := byName[a.name]
		switch {
		case !ok:
			r.left.add(notFoundf("Unit %s not found", a.name))
			continue
		case usable != nil:
			if err := usable(u); err != nil {
				r.left.add(err)
				continue
			}
		}
		r.units = append(r.units, u)
	}
	if len(r.units) == 0 {
		return r, r.left.err()
	}
	return r, nil
}
