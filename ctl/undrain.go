package ctl

import (
	"context"
	"fmt"
)

func undrainCommand() *command {
	cmd := newCommand("undrain", "MACHINE", "End the drain of a machine",
		`The machine takes units again. Units that left it stay where they went
(nothing moves back merely because it could). Moves in flight finish: a
unit already placed on its new machine leaves this one once it is active.`)
	cmd.minArgs, cmd.maxArgs = 1, 1
	cmd.run = func(ctx context.Context, c *cli, args []string) error {
		st, err := c.status(ctx)
		if err != nil {
			return err
		}
		id, err := resolveMachine(args[0], st.Machines, nil)
		if _, drained := st.Drains[args[0]]; err != nil && drained {
			id, err = args[0], nil // a drained machine that is gone can be undrained by its ID
		}
		if err != nil {
			return err
		}
		ok, err := request(ctx, c, "undrain "+id, func(ctx context.Context) (bool, error) { return c.reg.Undrain(ctx, id) })
		if err != nil {
			return err
		}
		if !ok {
			return notFoundf("Machine %s is not being drained", newView(st).legend(id, false))
		}
		fmt.Fprintf(c.out, "Undrained machine %s\n", newView(st).legend(id, false))
		return nil
	}
	return cmd
}
