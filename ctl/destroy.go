package ctl

import (
	"context"
	"fmt"

	"github.com/flota-dev/flota/registry"
)

func destroyCommand() *command {
	cmd := newCommand("destroy", "UNIT...", "Destroy one or more units in the cluster",
		`Remove units from the cluster (none is removed if one of them is not there):
their machines stop and unload them. Waits until no machine has them any more,
unless --no-block, and says "Destroyed X" for each.`)
	cmd.minArgs = 1
	var b blockFlags
	b.register(cmd.flags, true)
	cmd.run = func(ctx context.Context, c *cli, args []string) error {
		// Destroy waits for global units too: "no machine has them any more".
		ns, _, err := c.registeredArgs(ctx, cmd, b, args, false)
		if err != nil {
			return err
		}
		err = chunks(ns, c.reg.TxnOps()/2, func(part []string) error {
			return do(ctx, c, "destroy units", func(ctx context.Context) error { return c.reg.DestroyUnits(ctx, part) })
		})
		if err != nil {
			return err
		}
		destroyed := func(_ *view, name, _ string) { fmt.Fprintf(c.out, "Destroyed %s\n", name) }
		if b.noBlock {
			for _, n := range ns {
				destroyed(nil, n, "")
			}
			return nil
		}
		return c.waitFor(ctx, waitItems(ns, nil), registry.StateInactive, b.attempts, destroyed)
	}
	return cmd
}
