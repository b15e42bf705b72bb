package ctl

import (
	"context"
	"fmt"

	"github.com/flota-dev/flota/registry"
)

func unloadCommand() *command {
	cmd := newCommand("unload", "UNIT...", "Unschedule one or more units in the cluster",
		`Set units inactive: each is stopped and unloaded from its machine, and stays
in the cluster. Waits until no machine has the unit any more, unless
--no-block, then says "Successfully unloaded units [...]" on stderr. Global
units are not waited for.`)
	cmd.minArgs = 1
	var b blockFlags
	b.register(cmd.flags, true)
	cmd.run = func(ctx context.Context, c *cli, args []string) error {
		if err := b.check(cmd); err != nil {
			return err
		}
		us, err := parseUnitArgs(args)
		if err != nil {
			return err
		}
		units, err := c.registered(ctx, us)
		if err != nil {
			return err
		}
		files, err := c.storedFiles(ctx, units, nil)
		if err != nil {
			return err
		}
		unloaded, err := c.transition(ctx, unitNames(us), files, "unload", registry.StateInactive, b)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.errOut, "Successfully unloaded units %v.\n", unloaded)
		return nil
	}
	return cmd
}
