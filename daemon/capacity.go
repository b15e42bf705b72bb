package daemon

import (
	"context"
	"log/slog"
	"os"

	"github.com/flota-dev/flota/agent/quota"
	"github.com/flota-dev/flota/registry"
)

// machineCapacity reads what this machine has, its disk measured on the
// first of paths that exists (where tasks and volumes live, when they do).
// A machine whose capacity cannot be read still joins, without it.
func machineCapacity(ctx context.Context, log *slog.Logger, paths ...string) registry.Capacity {
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			continue
		}
		c, err := quota.ReadCapacity(ctx, p)
		if err != nil {
			log.Info("machine capacity unknown", "path", p, "err", err)
			return registry.Capacity{}
		}
		return registry.Capacity{CPUs: c.CPUs, MemoryBytes: c.MemoryBytes, DiskBytes: c.DiskBytes, DiskFreeBytes: c.DiskFreeBytes}
	}
	return registry.Capacity{}
}
