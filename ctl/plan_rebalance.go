package ctl

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/flota-dev/flota/engine"
	"github.com/flota-dev/flota/registry"
)

// planRebalance is plan --rebalance: the live cluster scheduled once with
// rebalancing on, as the leading Engine's next pass would be, and the moves
// that pass would begin printed with their reasons; nothing is written.
// The rate and threshold are flotad's defaults unless given: flotactl does
// not know what the flotad running the Engine was started with.
func (c *cli) planRebalance(ctx context.Context, r engine.Rebalance) error {
	cluster, err := request(ctx, c, "load the cluster", func(ctx context.Context) (*registry.Cluster, error) {
		return c.reg.LoadCluster(ctx, slog.New(slog.DiscardHandler))
	})
	if err != nil {
		return err
	}
	in := engine.PreviewInput(cluster, time.Now())
	in.Rebalance = r
	writeMoves(c.out, cluster, engine.SchedulePreview(in, nil).Changes)
	return nil
}

// writeMoves prints the moves changes begin, one a line.
func writeMoves(w io.Writer, cluster *registry.Cluster, changes []registry.Change) {
	legend := func(id string) string { return clusterLegend(cluster, id) }
	tw := tabwriter.NewWriter(w, 0, 8, 1, '\t', 0)
	n := 0
	for _, ch := range changes {
		mv := ch.Move
		if mv == nil || mv.IsZero() {
			continue
		}
		if n == 0 {
			fmt.Fprintln(tw, "UNIT\tFROM\tTO\tREASON")
		}
		n++
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", ch.Unit, legend(mv.From), legend(mv.To), mv.Reason)
	}
	tw.Flush()
	if n == 0 {
		fmt.Fprintln(w, "No unit would move now.")
	}
}
