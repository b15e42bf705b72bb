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
// cluster yet, then move all of them to target.
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
	global, err := c.ensureUnits(ctx, us, replace)
	if err != nil {
		return err
	}
	_, err = c.transition(ctx, unitNames(us), global, cmd.name, target, b)
	return err
}

// registeredArgs is the start of the commands that act on units already in
// the cluster: check the flags, parse the arguments (refusing templates when
// the command cannot apply to one), read the units. It returns the names in
// the order given and which of them are global.
func (c *cli) registeredArgs(ctx context.Context, cmd *command, b blockFlags, args []string, refuseTpl bool) ([]string, []registry.Unit, error) {
	if err := b.check(cmd); err != nil {
		return nil, nil, err
	}
	us, err := parseUnitArgs(args)
	if err != nil {
		return nil, nil, err
	}
	if refuseTpl {
		if err := refuseTemplates(cmd.name, us); err != nil {
			return nil, nil, err
		}
	}
	units, err := c.registered(ctx, us)
	if err != nil {
		return nil, nil, err
	}
	return unitNames(us), units, nil
}

// registered returns the records of units that must already be in the
// cluster, in the order given.
func (c *cli) registered(ctx context.Context, us []unitArg) ([]registry.Unit, error) {
	st, err := c.status(ctx)
	if err != nil {
		return nil, err
	}
	return existing(st, unitNames(us))
}
