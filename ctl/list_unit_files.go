package ctl

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/flota-dev/flota/reason"
	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/unit"
)

func listUnitFilesCommand() *command {
	cmd := newCommand("list-unit-files", "", "List the units that exist in the cluster",
		`One row per submitted unit, sorted by name: its hash, desired state (DSTATE),
current state (STATE: inactive while placed nowhere, then what its machine
reports; "-" for global units) and machine (TARGET: "-" while placed nowhere,
"global" for global units). DESC (the unit's Description) reads the unit
files too. REASON, a flota addition, says why the engine could not place a
unit ("-" when nothing stands in its way). NOTES, also flota's, names the
soft rules (SoftConflicts=, SpreadBy=, PreferMachineMetadata=, MaxSkew=)
that a placed unit's machine does not honour, e.g.
  flotactl list-unit-files --fields=unit,dstate,target,reason,notes
MOVED, also flota's, is the unit's last rebalancing move: why, and when it
began ("-" for a unit never moved for its soft rules).`)
	cmd.maxArgs = 0
	keys := []string{"unit", "hash", "dstate", "state", "target", "global", "desc", "reason", "notes", "moved"}
	var t tableFlags
	t.register(cmd.flags, "unit,hash,dstate,state,target", keys, false)
	cmd.run = func(ctx context.Context, c *cli, _ []string) error {
		cols, err := t.columns(keys)
		if err != nil {
			return err
		}
		st, err := c.status(ctx)
		if err != nil {
			return err
		}
		if slices.Contains(cols, "reason") {
			if err := c.countReasons(ctx, st); err != nil {
				return err
			}
		}
		v := newView(st)
		var files map[string]*unit.File
		if slices.ContainsFunc(cols, needsFile) {
			if files, err = c.storedFiles(ctx, st.Units, nil); err != nil {
				return err
			}
		}
		return writeTable(c.out, &t, cols, st.Units, func(u registry.Unit, col string) string {
			global := u.Global
			switch col {
			case "unit":
				return u.Name
			case "hash":
				return hashText(u.Hash, t.full)
			case "dstate":
				return dash(string(u.Desired))
			case "state":
				if global {
					return "-"
				}
				state, _ := v.current(u.Name)
				return string(state)
			case "target":
				_, m := v.current(u.Name)
				switch {
				case global:
					return "global"
				case m == "":
					return "-"
				}
				return v.legend(m, t.full)
			case "global":
				return strconv.FormatBool(global)
			case "reason":
				if u.Desired == registry.StateInactive {
					return "-"
				}
				return dash(st.Unplaced[u.Name].String())
			case "notes":
				return dash(reason.Notes(st.Notes[u.Name]))
			case "moved":
				mv, ok := st.Moves[u.Name]
				if !ok {
					return "-"
				}
				return mv.Reason.String() + ", " + mv.Since.UTC().Format(time.RFC3339)
			case "desc":
				if f := files[u.Name]; f != nil {
					return dash(f.Description())
				}
				return "-"
			}
			return ""
		})
	}
	return cmd
}

// needsFile tells the list-unit-files columns that need the unit's file:
// the description is in the file only.
func needsFile(col string) bool { return col == "desc" }
