package ctl

import (
	"context"
	"fmt"

	"github.com/flota-dev/flota/machineapi"
)

func statusCommand() *command {
	cmd := newCommand("status", "UNIT...", "Output the status of one or more units in the cluster",
		`Print "systemctl status -l" of each unit, run on the machine it is placed on
(every machine, for a global unit) by that machine's agent. Exits with the
first non-zero status systemctl gave (3: the unit is not running).`)
	cmd.minArgs = 1
	// fleetctl users pass --no-block out of habit; it changes nothing here.
	cmd.flags.Bool("no-block", false, "accepted and ignored")
	cmd.run = func(ctx context.Context, c *cli, args []string) error {
		us, err := parseUnitArgs(args)
		if err != nil {
			return err
		}
		st, err := c.status(ctx)
		if err != nil {
			return err
		}
		exit := 0
		for _, a := range us {
			machines, err := machinesOf(st, a.name)
			if err != nil {
				return err
			}
			// flota's word first: the soft rules its machine does not
			// honour (none for fleet's units, whose output is unchanged).
			for _, n := range st.Notes[a.name] {
				fmt.Fprintf(c.out, "Note: %s\n", n)
			}
			for _, m := range machines {
				if len(machines) > 1 {
					fmt.Fprintf(c.out, "-- %s on %s --\n", a.name, newView(st).legend(m.ID, false))
				}
				status, err := c.agentGet(ctx, m, machineapi.StatusPath(a.name), nil, c.out)
				if err != nil {
					return err
				}
				if exit == 0 {
					exit = status
				}
			}
		}
		if exit != 0 {
			return &reportedError{code: exit}
		}
		return nil
	}
	return cmd
}
