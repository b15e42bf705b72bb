package ctl

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/flota-dev/flota/registry"
)

func listMachinesCommand() *command {
	cmd := newCommand("list-machines", "", "Enumerate the current hosts in the cluster",
		`One row per registered machine, sorted by ID: its ID, its public IP and its
metadata as k=v pairs sorted by key ("-" when there is none).`)
	cmd.maxArgs = 0
	keys := []string{"machine", "ip", "metadata"}
	var t tableFlags
	t.register(cmd.flags, "machine,ip,metadata", keys, true)
	cmd.run = func(ctx context.Context, c *cli, _ []string) error {
		cols, err := t.columns(keys)
		if err != nil {
			return err
		}
		ms, err := request(ctx, c, "list machines", c.reg.Machines)
		if err != nil {
			return err
		}
		return writeTable(c.out, &t, cols, ms, func(m registry.Machine, col string) string {
			switch col {
			case "machine":
				return machineID(m.ID, t.full)
			case "ip":
				return dash(m.IP)
			case "metadata":
				return metadata(m.Metadata)
			}
			return ""
		})
	}
	return cmd
}

// metadata formats k=v pairs sorted by key, joined by ",", or "-".
func metadata(md map[string]string) string {
	if len(md) == 0 {
		return "-"
	}
	pairs := make([]string, 0, len(md))
	for _, k := range slices.Sorted(maps.Keys(md)) {
		pairs = append(pairs, k+"="+md[k])
	}
	return strings.Join(pairs, ",")
}
