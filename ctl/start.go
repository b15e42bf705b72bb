package ctl

import (
	"context"

	"github.com/flota-dev/flota/registry"
)

func startCommand() *command {
	cmd := newCommand("start", "UNIT...", "Instruct systemd to start one or more units in the cluster, first submitting and loading if necessary",
		`Submit the units that are not in the cluster yet, then set them launched:
each is placed on a machine and started by its systemd. Waits until every unit
is launched and active, unless --no-block; while a unit cannot be placed, says
why. Global units are not waited for. A template (foo@.service) cannot be
started: start its instances (foo@1.service). A unit with no file and no
template anywhere is named on stderr; the others are started all the same,
and the exit status is 1. A bad file stops the command before anything is
written.`)
	cmd.minArgs = 1
	var b blockFlags
	b.register(cmd.flags, true)
	replace := cmd.flags.Bool("replace", false, "replace the stored file of units that already exist with the local one")
	cmd.run = func(ctx context.Context, c *cli, args []string) error {
		return c.submitAndSet(ctx, cmd, args, *replace, b, registry.StateLaunched)
	}
	return cmd
}
