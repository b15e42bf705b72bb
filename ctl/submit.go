package ctl

import "context"

func submitCommand() *command {
	cmd := newCommand("submit", "UNIT...", "Upload one or more units to the cluster without starting them",
		`Upload unit files to the cluster, inactive: nothing is scheduled. A UNIT is a
unit file path or name; an instance (foo@1.service) without a file of its own
uses its template, from the cluster or beside the argument. A unit already in
the cluster is kept as it is; if its local file differs, a WARNING says so and
--replace swaps the stored file, keeping the unit's desired state.`)
	cmd.minArgs = 1
	replace := cmd.flags.Bool("replace", false, "replace the stored file of units that already exist with the local one")
	cmd.run = func(ctx context.Context, c *cli, args []string) error {
		us, err := parseUnitArgs(args)
		if err != nil {
			return err
		}
		_, err = c.ensureUnits(ctx, us, *replace)
		return err
	}
	return cmd
}
