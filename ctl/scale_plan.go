package ctl

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/flota-dev/flota/engine"
	"github.com/flota-dev/flota/registry"
)

// planScale is "plan --scale TEMPLATE N": scale's decision against the live
// cluster, written and not acted on. Scaling up, the new instances are
// planned as plan plans units (where each would go, the machines' scores);
// scaling down, the victims are listed in order with the rule that chose
// each. The template is the one in the cluster, else the local file (not
// submitted).
func (c *cli) planScale(ctx context.Context, cmd *command, tmplArg string, operands []string, top int) error {
	if len(operands) != 1 {
		return usageErrorf(cmd, "%s --scale %s: want one operand, the number of instances, not %q", cmd.name, tmplArg, operands)
	}
	a, want, err := scaleArgs(cmd, tmplArg, operands[0])
	if err != nil {
		return err
	}
	st, err := c.status(ctx)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(st.Units, func(u registry.Unit) bool { return u.Name == a.name }) {
		p, ok := localPath(a)
		if !ok {
			return notFoundf("unable to find Unit(%s) in Registry or on filesystem", a.name)
		}
		if _, err := readUnitFile(p, a.name); err != nil {
			return err
		}
	}
	d := decideScale(st, a.name, want)
	fmt.Fprintf(c.out, "%s: %d %s, scaled to %d: ", d.Template, d.Have, plural(d.Have, "instance"), d.Want)
	switch {
	case len(d.Create) > 0:
		fmt.Fprintf(c.out, "%d to create\n\n", len(d.Create))
		cluster, err := request(ctx, c, "load the cluster", func(ctx context.Context) (*registry.Cluster, error) {
			return c.reg.LoadCluster(ctx, slog.New(slog.DiscardHandler))
		})
		if err != nil {
			return err
		}
		in := engine.PreviewInput(cluster, time.Now())
		us := make([]unitArg, len(d.Create))
		for i, n := range d.Create {
			us[i] = unitArg{arg: filepath.Join(filepath.Dir(a.arg), n), name: n}
		}
		names, err := c.planUnits(ctx, cluster, &in, us)
		if err != nil {
			return err
		}
		if n := writePlan(c.out, cluster, engine.SchedulePreview(in, names), names, top); n > 0 {
			return &reportedError{code: exitUnplaceable}
		}
	case len(d.Victims) > 0:
		fmt.Fprintf(c.out, "%d to destroy, first to last\n\n", len(d.Victims))
		v := newView(st)
		writeVictims(c.out, d, func(m string) string { return v.legend(m, false) })
	default:
		fmt.Fprintln(c.out, "nothing to do")
	}
	return nil
}

// writeVictims prints a scale-down's victims in order, with the rule that
// chose each and the fact behind it, then the instances kept.
func writeVictims(w io.Writer, d scaleDecision, legend func(string) string) {
	tw := tabwriter.NewWriter(w, 0, 8, 1, '\t', 0)
	fmt.Fprintln(tw, "ORDER\tUNIT\tRULE\tWHY")
	for i, v := range d.Victims {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", strconv.Itoa(i+1), v.Name, v.Rule, v.why(legend))
	}
	tw.Flush()
	if len(d.Kept) > 0 {
		fmt.Fprintf(w, "\nKept: %s\n", keptNames(d))
	}
}
