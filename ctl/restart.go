package ctl

import (
	"context"

	"github.com/flota-dev/flota/registry"
)

func restartCommand() *command {
	cmd := newCommand("restart", "UNIT...", "Instruct systemd to restart one or more units in the cluster",
		`Stop units, wait until every machine running them has them loaded and
stopped (global units included), then start them and wait until they are
launched, as start does.`)
	cmd.minArgs = 1
	var b blockFlags
	b.register(cmd.flags, false)
	cmd.run = func(ctx context.Context, c *cli, args []string) error {
		if err := b.check(cmd); err != nil {
			return err
		}
		us, err := parseUnitArgs(args)
		if err != nil {
			return err
		}
		if err := refuseTemplates("restart", us); err != nil {
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
		ns := unitNames(us)
		// The stop must land everywhere before the start, or the start
		// would only cancel it and nothing would restart (fleet's bug).
		if err := c.setDesired(ctx, ns, registry.StateLoaded); err != nil {
			return err
		}
		loaded := registry.StateLoaded
		if err := c.waitFor(ctx, waitItems(ns, files), loaded, b.attempts, c.reachedMessage(loaded)); err != nil {
			return err
		}
		_, err = c.transition(ctx, ns, files, "start", registry.StateLaunched, b)
		return err
	}
	return cmd
}
