package ctl

import (
	"context"
	"fmt"

	"github.com/flota-dev/flota/registry"
)

func stopCommand() *command {
	cmd := newCommand("stop", "UNIT...", "Instruct systemd to stop one or more units in the cluster",
		`Set units loaded: each stays loaded on its machine but is stopped. Waits
until every unit is loaded, unless --no-block, then says "Successfully stopped
units [...]" on stderr. Global units are not waited for. A unit that is not
in the cluster, or is inactive (it cannot be stopped), is named on stderr;
the others are stopped all the same, and the exit status is 1.`)
	cmd.minArgs = 1
	var b blockFlags
	b.register(cmd.flags, true)
	cmd.run = func(ctx context.Context, c *cli, args []string) error {
		r, err := c.registeredArgs(ctx, cmd, b, args, true, func(u registry.Unit) error {
			if u.Desired == registry.StateInactive {
				return fmt.Errorf("Unable to stop unit %s in state %s", u.Name, registry.StateInactive)
			}
			return nil
		})
		if err != nil {
			return err
		}
		stopped, err := c.transition(ctx, r.names(), globalsOf(r.units), "stop", registry.StateLoaded, b)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.errOut, "Successfully stopped units %v.\n", stopped)
		return r.left.err()
	}
	return cmd
}
