package ctl

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"

	"github.com/flota-dev/flota/clusterapi"
	"github.com/flota-dev/flota/registry"

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
	output := cmd.flags.StringP("output", "o", "text", `"text" (systemctl status from each machine), or "json": each unit's target, placements with the states their machines published, reason and notes, as codes (the API's /v1/status document), without asking the machines`)
	cmd.run = func(ctx context.Context, c *cli, args []string) error {
		if *output != "text" && *output != "json" {
			return usageErrorf(cmd, "status: --output %q: want text or json", *output)
		}
		us, err := parseUnitArgs(args)
		if err != nil {
			return err
		}
		st, err := c.status(ctx)
		if err != nil {
			return err
		}
		if *output == "json" {
			return writeStatusJSON(c.out, st, us)
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

// writeStatusJSON prints the units named as the API's status document
// has them; a unit not in the cluster fails the command, in fleetctl's
// words.
func writeStatusJSON(w io.Writer, st *registry.Status, us []unitArg) error {
	all := clusterapi.StatusOf(st)
	out := struct {
		Revision int64             `json:"revision"`
		Units    []clusterapi.Unit `json:"units"`
	}{Revision: all.Revision, Units: []clusterapi.Unit{}}
	for _, a := range us {
		i := slices.IndexFunc(all.Units, func(u clusterapi.Unit) bool { return u.Name == a.name })
		if i < 0 {
			return fmt.Errorf("Unit %s does not exist.", a.name)
		}
		out.Units = append(out.Units, all.Units[i])
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
