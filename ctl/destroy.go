package ctl

import (
	"context"
	"fmt"

	"github.com/flota-dev/flota/registry"
)

func destroyCommand() *command {
	cmd := newCommand("destroy", "UNIT...", "Destroy one or more units in the cluster",
		`Remove units from the cluster: their machines stop and unload them. Waits
until no machine has them any more, unless --no-block, and says "Destroyed X"
for each. A unit that is not in the cluster is named on stderr ("Unit X not
found"); the others are destroyed all the same, and the exit status is 1.`)
	cmd.minArgs = 1
	var b blockFlags
	b.register(cmd.flags, true)
	cmd.run = func(ctx context.Context, c *cli, args []string) error {
		// Destroy waits for global units too: "no machine has them any more".
		r, err := c.registeredArgs(ctx, cmd, b, args, false, nil)
		if err != nil {
			return err
		}
		ns := r.names()
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
			return r.left.err()
		}
		if err := c.waitFor(ctx, waitItems(ns, nil), registry.StateInactive, b.attempts, destroyed); err != nil {
			return err
		}
		return r.left.err()
	}
	return cmd
}
