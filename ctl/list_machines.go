package ctl

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/flota-dev/flota/registry"
)

func listMachinesCommand() *command {
	cmd := newCommand("list-machines", "", "Enumerate the current hosts in the cluster",
		`One row per registered machine, sorted by ID: its ID, its public IP and its
metadata as k=v pairs sorted by key ("-" when there is none). The metadata is
what the Engine places by: what the machine's flags give (flotad --metadata)
with its labels applied (flotactl label). CPUS, MEMORY, DISK and LABELS are
flota additions. CPUS, MEMORY and DISK show what each machine's agent
reported it has ("-" when it did not), e.g. flotactl list-machines
--fields=machine,cpus,memory,disk. LABELS shows the labels alone, k=v for a
key set and -k for a key removed ("-" when there are none): which of the
metadata came from an operator rather than from the flags. DRAIN says
"draining" while the machine is being drained (flotactl drain) and units are
still to leave it, "drained" once none is, "-" otherwise. VERSION is the
flotad version the machine's agent runs. -o json prints the rows as JSON.`)
	cmd.maxArgs = 0
	keys := []string{"machine", "ip", "metadata", "cpus", "memory", "disk", "labels", "drain", "version"}
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
		var st *registry.Status // what the drain column needs, read only then
		if slices.Contains(cols, "drain") {
			if st, err = c.status(ctx); err != nil {
				return err
			}
		}
		return writeTable(c.out, &t, cols, ms, func(m registry.Machine, col string) string {
			switch col {
			case "machine":
				return machineID(m.ID, t.full)
			case "drain":
				return dash(st.DrainState(m.ID))
			case "ip":
				return dash(m.IP)
			case "version":
				return dash(m.Version)
			case "metadata":
				return metadata(m.Metadata)
			case "labels":
				if m.Labels.IsZero() {
					return "-"
				}
				return strings.Join(labelLines(m.Labels), ",")
			case "cpus":
				if m.Capacity.CPUs == 0 {
					return "-"
				}
				return strconv.Itoa(m.Capacity.CPUs)
			case "memory":
				return bytesText(m.Capacity.MemoryBytes)
			case "disk":
				if m.Capacity.DiskBytes == 0 {
					return "-"
				}
				return bytesText(m.Capacity.DiskFreeBytes) + "/" + bytesText(m.Capacity.DiskBytes)
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

// bytesText shows a size in binary units, one decimal: "23.5GiB"; "-" for 0.
func bytesText(n uint64) string {
	if n == 0 {
		return "-"
	}
	const units = "KMGTPE"
	if n < 1024 {
		return strconv.FormatUint(n, 10) + "B"
	}
	v, i := float64(n)/1024, 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + units[i:i+1] + "iB"
}
