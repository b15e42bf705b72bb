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
units [...]" on stderr. A unit that is inactive cannot be stopped. Global
units are not waited for.`)
	cmd.minArgs = 1
	var b blockFlags
	b.register(cmd.flags, true)
	cmd.run = func(ctx context.Context, c *cli, args []string) error {
		ns, units, err := c.registeredArgs(ctx, cmd, b, args, true)
		if err != nil {
			return err
		}
		for _, u := range units {
			if u.Desired == registry.StateInactive {
				return fmt.Errorf("Unable to stop unit %s in state %s", u.Name, registry.StateInactive)
			}
		}
		stopped, err := c.transition(ctx, ns, globalsOf(units), "stop", registry.StateLoaded, b)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.errOut, "Successfully stopped units %v.\n", stopped)
		return nil
	}
	return cmd
}
