package agent

import (
	"context"
	"log/slog"

	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/unit"
)

// Units is the systemd side of the Agent alone, for tests: Placements come
// from a function, unit files from another, and states go to whichever
// Publisher is set.
type Units struct{ d *driver }

func NewUnits(sd Systemd, file func(context.Context, unit.Hash) ([]byte, error),
	placements func() (map[string]registry.Placement, <-chan struct{}, bool), cfg Config, log *slog.Logger) *Units {
	return &Units{d: newDriver(sd, file, placements, cfg, log)}
}

func (u *Units) Run(ctx context.Context) error { return u.d.run(ctx) }
func (u *Units) SetPublisher(p Publisher)      { u.d.setPublisher(p) }

// SetFenced raises or lowers the fence as the session's fuse does.
func (u *Units) SetFenced(ctx context.Context, on bool) { u.d.setFenced(ctx, on) }
