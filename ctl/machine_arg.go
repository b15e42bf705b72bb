package ctl

import (
	"fmt"
	"slices"
	"strings"

	"github.com/flota-dev/flota/registry"
)

// resolveMachine finds the machine a command-line argument names, as
// fleetctl's ssh did: its full ID, or a prefix of exactly one machine's ID
// (the 8 characters list-machines shows, or fewer). The machines known are
// those registered and, given labels, those with labels that are not
// registered now. A prefix of several is refused with their IDs, as fleetctl
// refused it ("be more specific").
func resolveMachine(arg string, ms []registry.Machine, labels map[string]registry.Labels) (string, error) {
	known := map[string]bool{}
	for _, m := range ms {
		known[m.ID] = true
	}
	for id := range labels {
		known[id] = true
	}
	if known[arg] {
		return arg, nil
	}
	var match []string
	for id := range known {
		if strings.HasPrefix(id, arg) {
			match = append(match, id)
		}
	}
	switch len(match) {
	case 0:
		return "", notFoundf("Machine %s not found", arg)
	case 1:
		return match[0], nil
	}
	slices.Sort(match)
	return "", fmt.Errorf("%w machine %q: it begins the IDs of %d machines (%s); give more of the ID", registry.ErrInvalid, arg, len(match), strings.Join(match, ", "))
}
