package scale

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// table is the run's figures, printed at the end.
type table struct{ rows [][3]string }

func (t *table) add(figure, value, note string, args ...any) {
	t.rows = append(t.rows, [3]string{figure, value, fmt.Sprintf(note, args...)})
}

func (t *table) print(w io.Writer, o options) {
	fmt.Fprintf(w, "\nflota-scale: %d machines, %d units (%.0f%% unplaceable), %d engines apart, one etcd (fsync on)\n\n", o.machines, o.units, o.unplaceable, o.engines)
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "FIGURE\tVALUE\tNOTE")
	for _, r := range t.rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r[0], r[1], r[2])
	}
	_ = tw.Flush()
}
