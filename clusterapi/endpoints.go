package clusterapi

import (
	"cmp"
	"net"
	"slices"
	"strconv"

	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/unit"
)

// Endpoint is one port of a running unit on one machine: the machine's
// public IP and a port its [X-Fleet] Ports= declares (none: the IP alone).
type Endpoint struct {
	Unit    string `json:"unit"`
	Machine string `json:"machine"`
	IP      string `json:"ip,omitempty"`
	Port    int    `json:"port,omitempty"`
	Name    string `json:"name,omitempty"`
	Proto   string `json:"proto,omitempty"`
	Address string `json:"address,omitempty"` // ip:port, or the IP alone
}

// Endpoints are the endpoints of the units of st whose machine reports
// them active (no condition), those globs select (none: all), sorted by
// unit, machine, then port: an endpoint appears when its unit starts and
// goes when it stops, fails or leaves.
func Endpoints(st *registry.Status, globs []string) []Endpoint {
	units := make(map[string]registry.Unit, len(st.Units))
	for _, u := range st.Units {
		units[u.Name] = u
	}
	ips := make(map[string]string, len(st.Machines))
	for _, m := range st.Machines {
		ips[m.ID] = m.IP
	}
	out := []Endpoint{}
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
			out = append(out, Endpoint{Unit: s.Unit, Machine: s.Machine, IP: ip, Address: ip})
		}
		for _, p := range req.Ports {
			e := Endpoint{Unit: s.Unit, Machine: s.Machine, IP: ip, Port: p.Number, Name: p.Name, Proto: p.Proto}
			if ip != "" {
				e.Address = net.JoinHostPort(ip, strconv.Itoa(p.Number))
			}
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b Endpoint) int {
		return cmp.Or(cmp.Compare(a.Unit, b.Unit), cmp.Compare(a.Machine, b.Machine),
			cmp.Compare(a.Port, b.Port), cmp.Compare(a.Proto, b.Proto))
	})
	return out
}
