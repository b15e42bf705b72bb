package ctl

import (
	"context"

	"github.com/flota-dev/flota/registry"
)

func loadCommand() *command {
	cmd := newCommand("load", "UNIT...", "Schedule one or more units in the cluster, first submitting them if necessary",
		`Submit the units that are not in the cluster yet, then set them loaded: each
is placed on a machine and loaded into its systemd, not started (a launched
unit is stopped). Waits until every unit is loaded, unless --no-block.
Global units are not waited for. A unit with no file and no template
anywhere is named on stderr; the others are loaded all the same, and the
exit status is 1. A bad file stops the command before anything is written.`)
	cmd.minArgs = 1
	var b blockFlags
	b.register(cmd.flags, true)
	replace := cmd.flags.Bool("replace", false, "replace the stored file of units that already exist with the local one")
	cmd.run = func(ctx context.Context, c *cli, args []string) error {
		return c.submitAndSet(ctx, cmd, args, *replace, b, registry.StateLoaded)
	}
	return cmd
}
