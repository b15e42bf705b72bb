package ctl

import (
	"cmp"
	"context"
	"slices"

	"github.com/flota-dev/flota/registry"
)

// unitRow is one unit on one machine: where the Engine placed it, what the
// machine's Agent reports of it, or both.
type unitRow struct {
	unit, machine string
	placement     *registry.Placement
	state         *registry.UnitState
}

func listUnitsCommand() *command {
	cmd := newCommand("list-units", "", "List the current state of units in the cluster",
		`One row per unit and machine: every unit placed on a machine, and every unit
a machine reports, with systemd's LOAD, ACTIVE and SUB ("-" until the machine
reports). While the machine's agent holds a unit back from systemd (its image
is being pulled, its container could not be prepared, the machine has a unit
of its own by that name), SUB shows why, as a code of flota's own
(pulling-image, image-pull-failed, container-prepare-failed,
no-container-runtime, name-taken), and CONDITION, a field of flota's own, the
code and its detail. Units placed nowhere are not listed (see
list-unit-files). Rows are sorted by unit, then machine.`)
	cmd.maxArgs = 0
	keys := []string{"unit", "load", "active", "sub", "machine", "hash", "condition"}
	var t tableFlags
	t.register(cmd.flags, "unit,machine,active,sub", keys, true)
	cmd.run = func(ctx context.Context, c *cli, _ []string) error {
		cols, err := t.columns(keys)
		if err != nil {
			return err
		}
		st, err := c.status(ctx)
		if err != nil {
			return err
		}
		v := newView(st)
		return writeTable(c.out, &t, cols, unitRows(st), func(r unitRow, col string) string {
			return r.cell(v, col, t.full)
		})
	}
	return cmd
}

// unitRows joins Placements and published states on (unit, machine).
func unitRows(st *registry.Status) []unitRow {
	type key struct{ unit, machine string }
	rows := map[key]*unitRow{}
	row := func(u, m string) *unitRow {
		k := key{u, m}
		if rows[k] == nil {
			rows[k] = &unitRow{unit: u, machine: m}
		}
		return rows[k]
	}
	for i := range st.Placements {
		p := &st.Placements[i]
		row(p.Unit, p.Machine).placement = p
	}
	for i := range st.States {
		s := &st.States[i]
		row(s.Unit, s.Machine).state = s
	}
	out := make([]unitRow, 0, len(rows))
	for _, r := range rows {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b unitRow) int {
		return cmp.Or(cmp.Compare(a.unit, b.unit), cmp.Compare(a.machine, b.machine))
	})
	return out
}

func (r unitRow) cell(v *view, col string, full bool) string {
	var s registry.UnitState
	if r.state != nil {
		s = *r.state
	}
	switch col {
	case "unit":
		return r.unit
	case "load":
		return dash(s.Load)
	case "active":
		return dash(s.Active)
	case "sub":
		if s.Condition != "" {
			return string(s.Condition) // systemd's says only that it has no such unit
		}
		return dash(s.Sub)
	case "condition":
		return conditionText(s)
	case "machine":
		return v.legend(r.machine, full)
	case "hash":
		h := s.Hash
		if h.IsZero() && r.placement != nil {
			h = r.placement.Hash
		}
		return hashText(h, full)
	}
	return ""
}

// conditionText shows why an agent holds a unit back: the code, and its
// detail after a colon; "-" for none.
func conditionText(s registry.UnitState) string {
	switch {
	case s.Condition == "":
		return "-"
	case s.Detail == "":
		return string(s.Condition)
	}
	return string(s.Condition) + ": " + s.Detail
}
