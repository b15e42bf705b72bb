package ctl

import (
	"context"
	"path"
	"strconv"

	"github.com/flota-dev/flota/clusterapi"
)

func endpointsCommand() *command {
	cmd := newCommand("endpoints", "[GLOB]...", "List where running units answer",
		`One row per port of each unit that runs, on each machine it runs on: the
machine's public IP and each port the unit declares in its [X-Fleet] Ports=
([NAME=]PORT[/udp], a flota option); one row with the IP alone for a unit
that declares none. A unit counts while its machine reports it active, so an
endpoint appears when the unit starts and goes when it stops, fails or
leaves. GLOBs select units by name (web@* for every instance); none: every
unit. Rows are sorted by unit, machine, then port.`)
	keys := []string{"unit", "machine", "ip", "port", "name", "proto", "address"}
	var t tableFlags
	t.register(cmd.flags, "unit,machine,address,name", keys, true)
	cmd.run = func(ctx context.Context, c *cli, globs []string) error {
		for _, g := range globs {
			if _, err := path.Match(g, ""); err != nil {
				return usageErrorf(cmd, "endpoints: bad glob %q: %v", g, err)
			}
		}
		cols, err := t.columns(keys)
		if err != nil {
			return err
		}
		st, err := c.status(ctx)
		if err != nil {
			return err
		}
		return writeTable(c.out, &t, cols, clusterapi.Endpoints(st, globs), func(e clusterapi.Endpoint, col string) string {
			switch col {
			case "unit":
				return e.Unit
			case "machine":
				return machineID(e.Machine, t.full)
			case "ip":
				return dash(e.IP)
			case "port":
				if e.Port == 0 {
					return "-"
				}
				return strconv.Itoa(e.Port)
			case "name":
				return dash(e.Name)
			case "proto":
				return dash(e.Proto)
			case "address":
				return dash(e.Address)
			}
			return ""
		})
	}
	return cmd
}

// endpoint is one port of a unit running on a machine (port zero: the
// machine's address alone).
