package ctl

import (
	"context"
	"fmt"
	"net/url"
	"strconv"

	"github.com/flota-dev/flota/machineapi"
)

func journalCommand() *command {
	cmd := newCommand("journal", "UNIT", "Print the journal of a unit in the cluster to stdout",
		`Print "journalctl --unit UNIT" from the machine the unit is placed on (each
machine in turn for a global unit), through that machine's agent.`)
	cmd.minArgs, cmd.maxArgs = 1, 1
	lines := cmd.flags.Int("lines", 10, "number of recent journal lines to show")
	follow := cmd.flags.BoolP("follow", "f", false, "keep printing new lines as they are written, until interrupted")
	output := cmd.flags.String("output", "short", "journalctl output mode (short, json, cat, verbose...)")
	// fleet ran journalctl through sudo over SSH; the agent runs as root.
	cmd.flags.Bool("sudo", false, "accepted and ignored: the agent reads the journal itself")
	cmd.run = func(ctx context.Context, c *cli, args []string) error {
		if *lines < 0 {
			return usageErrorf(cmd, "--lines=%d: want 0 or more", *lines)
		}
		us, err := parseUnitArgs(args)
		if err != nil {
			return err
		}
		name := us[0].name
		st, err := c.status(ctx)
		if err != nil {
			return err
		}
		machines, err := machinesOf(st, name)
		if err != nil {
			return err
		}
		if *follow && len(machines) > 1 {
			return fmt.Errorf("unit %s runs on %d machines: --follow follows one journal; run without it", name, len(machines))
		}
		q := url.Values{"lines": {strconv.Itoa(*lines)}, "output": {*output}}
		if *follow {
			q.Set("follow", "1")
		}
		for _, m := range machines {
			if len(machines) > 1 {
				fmt.Fprintf(c.out, "-- %s on %s --\n", name, newView(st).legend(m.ID, false))
			}
			if _, err := c.agentGet(ctx, m, machineapi.JournalPath(name), q, c.out); err != nil {
				return err
			}
		}
		return nil
	}
	return cmd
}
