package ctl

import (
	"fmt"

	"github.com/flota-dev/flota/unit"
)

// unitArg is a unit named on the command line: the argument as given (it
// may be a path to the unit's file) and the unit name it stands for.
type unitArg struct {
	arg  string
	name string
}

// parseUnitArgs turns arguments into unit names the way fleetctl did
// (unit.Normalize: the path's base name, ".service" added when the name has
// no recognized type), validates every name before anything is done and
// drops repeated units, keeping the first.
func parseUnitArgs(args []string) ([]unitArg, error) {
	out := make([]unitArg, 0, len(args))
	seen := make(map[string]bool, len(args))
	for _, a := range args {
		name := ""
		if a != "" {
			name = unit.Normalize(a)
		}
		if err := unit.ValidateName(name); err != nil {
			return nil, err
		}
		if seen[name] {
			continue
		}
		seen[name] = true
		out = append(out, unitArg{arg: a, name: name})
	}
	return out, nil
}

// refuseTemplates fails for a template among the units: a template is
// never scheduled (systemd refuses to load one, and fleet wedged the agent
// that tried), only its instances are.
func refuseTemplates(verb string, us []unitArg) error {
	for _, u := range us {
		if unit.IsTemplate(u.name) {
			return fmt.Errorf("cannot %s %s: it is a template, which is never scheduled; %s an instance of it such as %s",
				verb, u.name, verb, unit.Prefix(u.name)+"@1."+unit.Suffix(u.name))
		}
	}
	return nil
}
