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
		ns, units, err := c.registeredArgs(ctx, cmd, b, args, false)
		if err != nil {
			return err
		}
		unloaded, err := c.transition(ctx, ns, globalsOf(units), "unload", registry.StateInactive, b)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.errOut, "Successfully unloaded units %v.\n", unloaded)
		return nil
	}
	return cmd
}
