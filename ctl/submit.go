package ctl

import "context"

func submitCommand() *command {
	cmd := newCommand("submit", "UNIT...", "Upload one or more units to the cluster without starting them",
		`Upload unit files to the cluster, inactive: nothing is scheduled. A UNIT is a
unit file path or name; an instance (foo@1.service) without a file of its own
uses its template, from the cluster or beside the argument. A unit already in
the cluster is kept as it is; if its local file differs, a WARNING says so and
--replace swaps the stored file, keeping the unit's desired state. A unit
with no file and no template anywhere is named on stderr; the others are
submitted all the same, and the exit status is 1. A bad file, or a file not
named after a unit (NAME.TYPE, such as web.service), stops the command
before anything is submitted.`)
	cmd.minArgs = 1
	replace := cmd.flags.Bool("replace", false, "replace the stored file of units that already exist with the local one")
	cmd.run = func(ctx context.Context, c *cli, args []string) error {
		us, err := parseUnitArgs(args)
		if err != nil {
			return err
		}
		e, err := c.ensureUnits(ctx, us, *replace)
		if err != nil {
			return err
		}
		return e.left.err()
	}
	return cmd
}
