package ctl

import (
	"context"
	"log/slog"
	"time"

	"github.com/flota-dev/flota/engine"
	"github.com/flota-dev/flota/registry"
)

// countReasons puts back into st the counts its unplaced records do not
// keep: the Engine stores why a unit cannot be placed without how many
// machines each rule filtered (those follow the cluster's size, and a
// machine joining would rewrite every record), so flotactl counts them
// from the cluster as it stands, with the Engine's own rules
// (engine.Reasons). A record whose meaning the count does not match (the
// cluster changed since the Engine wrote it) is shown as stored, without
// counts.
func (c *cli) countReasons(ctx context.Context, st *registry.Status) error {
	if len(st.Unplaced) == 0 {
		return nil
	}
	cluster, err := request(ctx, c, "load the cluster", func(ctx context.Context) (*registry.Cluster, error) {
		return c.reg.LoadCluster(ctx, slog.New(slog.DiscardHandler))
	})
	if err != nil {
		return err
	}
	in := engine.PreviewInput(cluster, time.Now())
	counted := engine.Reasons(in)
	for name, stored := range st.Unplaced {
		if r, ok := counted[name]; ok && r.Equal(stored) {
			st.Unplaced[name] = r
		}
	}
	return nil
}
