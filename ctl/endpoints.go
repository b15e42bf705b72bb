package ctl

import (
	"cmp"
	"context"
	"net"
	"path"
	"slices"
	"strconv"

	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/unit"
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
		return writeTable(c.out, &t, cols, endpointRows(st, globs), func(e endpoint, col string) string {
			switch col {
			case "unit":
				return e.unit
			case "machine":
				return machineID(e.machine, t.full)
			case "ip":
				return dash(e.ip)
			case "port":
				if e.port.Number == 0 {
					return "-"
				}
				return strconv.Itoa(e.port.Number)
			case "name":
				return dash(e.port.Name)
			case "proto":
				return dash(e.port.Proto)
			case "address":
				return e.address()
			}
			return ""
		})
	}
	return cmd
}

// endpoint is one port of a unit running on a machine (port zero: the
// machine's address alone).
type endpoint struct {
	unit, machine, ip string
	port              unit.Port
}

// address is ip:port (ip alone for no port; "-" for a machine with no IP).
func (e endpoint) address() string {
	switch {
	case e.ip == "":
		return "-"
	case e.port.Number == 0:
		return e.ip
	}
	return net.JoinHostPort(e.ip, strconv.Itoa(e.port.Number))
}

// endpointRows are the endpoints of the units matching globs (all when
// none) that a machine reports active, with the ports their records
// declare: one reading of the cluster, so that units, states and machines
// agree.
func endpointRows(st *registry.Status, globs []string) []endpoint {
	units := make(map[string]registry.Unit, len(st.Units))
	for _, u := range st.Units {
		units[u.Name] = u
	}
	ips := make(map[string]string, len(st.Machines))
	for _, m := range st.Machines {
		ips[m.ID] = m.IP
	}
	var out []endpoint
	for _, s := range st.States {
		u, ok := units[s.Unit]
		if !ok || s.Active != "active" || s.Condition != "" || len(globs) > 0 && !unit.AnyMatch(globs, s.Unit) {
			continue
		}
		req, _, err := unit.ParseOptions(s.Unit, u.Fleet)
		if err != nil {
			continue // submit refuses such a record; an older one declares nothing readable
		}
		ip := ips[s.Machine]
		if len(req.Ports) == 0 {
			out = append(out, endpoint{unit: s.Unit, machine: s.Machine, ip: ip})
		}
		for _, p := range req.Ports {
			out = append(out, endpoint{unit: s.Unit, machine: s.Machine, ip: ip, port: p})
		}
	}
	slices.SortFunc(out, func(a, b endpoint) int {
		return cmp.Or(cmp.Compare(a.unit, b.unit), cmp.Compare(a.machine, b.machine),
			cmp.Compare(a.port.Number, b.port.Number), cmp.Compare(a.port.Proto, b.port.Proto))
	})
	return out
}
