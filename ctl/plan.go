package ctl

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/flota-dev/flota/engine"
	"github.com/flota-dev/flota/reason"
	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/unit"
)

func planCommand() *command {
	cmd := newCommand("plan", "UNIT...", "Show where units would be placed, without changing anything",
		`A dry run against the live cluster: the units named are scheduled as if they
were started (a local file, a template's instance, or a unit in the cluster),
and nothing is written. For each unit: the machine it would go to, or why it
cannot be placed; then every machine's score (each soft rule's value, the
total, and the load that breaks ties) or why it was rejected; then the units
that would move or stop because of them. The exit status is 0 when all can
be placed, 3 when some cannot, 1 on a failure.`)
	top := cmd.flags.Int("machines", 5, "how many machines to show per unit, best first (0: all)")
	scale := cmd.flags.String("scale", "", "plan \"flotactl scale TEMPLATE N\" instead: --scale TEMPLATE N shows the instances it would create, or its victims in order with the rule that chose each")
	rebalance := cmd.flags.Bool("rebalance", false, "plan no UNIT but what rebalancing would move now, with the reason of each move, as the engine's next pass would at the rate and threshold given")
	perMinute := cmd.flags.Int("rebalance-per-minute", engine.DefaultRebalancePerMinute, "with --rebalance: the engine's flotad --rebalance-per-minute")
	threshold := cmd.flags.Float64("rebalance-threshold", engine.DefaultRebalanceThreshold, "with --rebalance: the engine's flotad --rebalance-threshold")
	loadGap := cmd.flags.Int("rebalance-load-gap", 0, "with --rebalance: the engine's flotad --rebalance-load-gap")
	output := cmd.flags.StringP("output", "o", "table", `"table", or "json": each unit's machines, reason and scores as codes and arguments, and the other units' moves (plan UNIT... only)`)
	cmd.run = func(ctx context.Context, c *cli, args []string) error {
		switch {
		case *output != "table" && *output != "json":
			return usageErrorf(cmd, "plan: --output %q: want table or json", *output)
		case *output == "json" && (*rebalance || *scale != ""):
			return usageErrorf(cmd, "plan: --output json is for plan UNIT... only, not --rebalance or --scale")
		}
		if *rebalance {
			if len(args) > 0 {
				return usageErrorf(cmd, "plan: --rebalance takes no UNIT: %q", args)
			}
			return c.planRebalance(ctx, engine.Rebalance{PerMinute: *perMinute, Threshold: *threshold, LoadGap: *loadGap})
		}
		if len(args) == 0 {
			return usageErrorf(cmd, "%s: missing %s", cmd.name, cmd.args)
		}
		if *scale != "" {
			return c.planScale(ctx, cmd, *scale, args, *top)
		}
		us, err := parseUnitArgs(args)
		if err != nil {
			return err
		}
		if err := refuseTemplates("plan", us); err != nil {
			return err
		}
		cluster, err := request(ctx, c, "load the cluster", func(ctx context.Context) (*registry.Cluster, error) {
			return c.reg.LoadCluster(ctx, slog.New(slog.DiscardHandler))
		})
		if err != nil {
			return err
		}
		in := engine.PreviewInput(cluster, time.Now())
		names, err := c.planUnits(ctx, cluster, &in, us)
		if err != nil {
			return err
		}
		pv := engine.SchedulePreview(in, names)
		n := 0
		if *output == "json" {
			if n, err = writePlanJSON(c.out, cluster, pv, names); err != nil {
				return err
			}
		} else {
			n = writePlan(c.out, cluster, pv, names, *top)
		}
		if n > 0 {
			return &reportedError{code: exitUnplaceable}
		}
		return nil
	}
	return cmd
}

// planUnits puts the units named into in as started: those in the cluster
// launched, the others read from their file or template as start would.
func (c *cli) planUnits(ctx context.Context, cluster *registry.Cluster, in *engine.Input, us []unitArg) ([]string, error) {
	r := &resolver{c: c, units: cluster.Units, files: map[string]*unit.File{}, texts: map[string][]byte{}}
	var names []string
	for _, a := range us {
		names = append(names, a.name)
		if i := indexUnit(in.Units, a.name); i >= 0 {
			in.Units[i].Desired = registry.StateLaunched
			continue
		}
		f, err := r.newFile(ctx, a)
		if err != nil {
			return nil, err // a plan of some of the units named would mislead
		}
		r.files[f.Name] = f
		in.Units = append(in.Units, engine.Unit{Name: f.Name, Hash: f.Hash, Desired: registry.StateLaunched, Req: f.Fleet, Resources: f.Resources})
	}
	return names, nil
}

func indexUnit(us []engine.Unit, name string) int {
	for i, u := range us {
		if u.Name == name {
			return i
		}
	}
	return -1
}

// writePlan prints the preview and returns how many of the units named
// cannot be placed.
func writePlan(w io.Writer, cluster *registry.Cluster, pv engine.Preview, names []string, top int) int {
	o := pv.Outcome(cluster)
	legend := func(id string) string { return clusterLegend(cluster, id) }
	unplaceable := 0
	tw := tabwriter.NewWriter(w, 0, 8, 1, '\t', 0)
	fmt.Fprintln(tw, "UNIT\tMACHINE\tNOTE")
	for _, n := range names {
		ms := o.After[n]
		sort.Strings(ms)
		switch {
		case len(ms) == 0:
			unplaceable++
			fmt.Fprintf(tw, "%s\t-\tcannot be placed: %s\n", n, o.Reason(n))
		default:
			var shown []string
			for _, m := range ms {
				shown = append(shown, legend(m))
			}
			note := "would be placed"
			if o.Stays(n) {
				note = "stays"
			}
			if ns := o.Notes[n]; len(ns) > 0 {
				note += "; " + reason.Notes(ns)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", n, strings.Join(shown, ","), note)
		}
	}
	tw.Flush()
	for _, n := range names {
		scores := pv.Scores[n]
		if len(scores) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s: machines, best first\n", n)
		tw := tabwriter.NewWriter(w, 0, 8, 1, '\t', 0)
		var parts []string
		for _, p := range firstFeasible(scores).Parts {
			parts = append(parts, strings.ToUpper(p.Scorer))
		}
		fmt.Fprintln(tw, strings.Join(append([]string{"MACHINE", "TOTAL", "LOAD"}, parts...), "\t")+"\tREJECTED")
		for i, s := range scores {
			if top > 0 && i >= top {
				fmt.Fprintf(tw, "(%d more)\n", len(scores)-top)
				break
			}
			row := []string{legend(s.Machine), "-", strconv.Itoa(s.Load)}
			if s.Rejected.Accepted() {
				row[1] = fmtScore(s.Total)
				for _, p := range s.Parts {
					row = append(row, fmtScore(p.Value))
				}
				row = append(row, "-")
			} else {
				for range parts {
					row = append(row, "-")
				}
				row = append(row, s.Rejected.String())
			}
			fmt.Fprintln(tw, strings.Join(row, "\t"))
		}
		tw.Flush()
	}
	var moves []string
	for _, m := range o.Moves(names) {
		from, to := mapStrings(m.From, legend), mapStrings(m.To, legend)
		if len(to) == 0 {
			moves = append(moves, fmt.Sprintf("%s would leave %s", m.Unit, strings.Join(from, ",")))
		} else {
			moves = append(moves, fmt.Sprintf("%s would move from %s to %s", m.Unit, strings.Join(from, ","), strings.Join(to, ",")))
		}
	}
	if len(moves) > 0 {
		fmt.Fprintln(w, "\nOther units:")
		for _, m := range moves {
			fmt.Fprintln(w, "  "+m)
		}
	}
	return unplaceable
}

func firstFeasible(scores []engine.Score) engine.Score {
	for _, s := range scores {
		if s.Rejected.Accepted() {
			return s
		}
	}
	return engine.Score{}
}

func fmtScore(v float64) string {
	if v == 0 {
		return "0" // not "-0"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// clusterLegend shows a machine as plan does: its short ID and its IP,
// when the cluster knows it.
func clusterLegend(cluster *registry.Cluster, id string) string {
	short := id
	if len(short) > 8 {
		short = short[:8] + "..."
	}
	if m, ok := cluster.Machines[id]; ok && m.IP != "" {
		return short + "/" + m.IP
	}
	return short
}

func mapStrings(in []string, f func(string) string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = f(s)
	}
	return out
}
