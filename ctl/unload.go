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
units are not waited for. A unit that is not in the cluster is named on
stderr; the others are unloaded all the same, and the exit status is 1.`)
	cmd.minArgs = 1
	var b blockFlags
	b.register(cmd.flags, true)
	cmd.run = func(ctx context.Context, c *cli, args []string) error {
		r, err := c.registeredArgs(ctx, cmd, b, args, false, nil)
		if err != nil {
			return err
		}
		unloaded, err := c.transition(ctx, r.names(), globalsOf(r.units), "unload", registry.StateInactive, b)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.errOut, "Successfully unloaded units %v.\n", unloaded)
		return r.left.err()
	}
	return cmd
}
