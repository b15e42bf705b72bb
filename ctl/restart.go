package ctl

import (
	"context"

	"github.com/flota-dev/flota/registry"
)

func restartCommand() *command {
	cmd := newCommand("restart", "UNIT...", "Instruct systemd to restart one or more units in the cluster",
		`Stop units, wait until every machine running them has them loaded and
stopped (global units included), then start them and wait until they are
launched, as start does. A unit that is not in the cluster is named on
stderr; the others are restarted all the same, and the exit status is 1.`)
	cmd.minArgs = 1
	var b blockFlags
	b.register(cmd.flags, false)
	cmd.run = func(ctx context.Context, c *cli, args []string) error {
		r, err := c.registeredArgs(ctx, cmd, b, args, true, nil)
		if err != nil {
			return err
		}
		ns, global := r.names(), globalsOf(r.units)
		// The stop must land everywhere before the start, or the start
		// would only cancel it and nothing would restart (fleet's bug).
		if err := c.setDesired(ctx, ns, registry.StateLoaded); err != nil {
			return err
		}
		loaded := registry.StateLoaded
		if err := c.waitFor(ctx, waitItems(ns, global), loaded, b.attempts, c.reachedMessage(loaded)); err != nil {
			return err
		}
		if _, err := c.transition(ctx, ns, global, "start", registry.StateLaunched, b); err != nil {
			return err
		}
		return r.left.err()
	}
	return cmd
}
