package agent

import (
	"context"
	"fmt"

	"github.com/flota-dev/flota/agent/task"
)

// ContainerOf says whether unit is placed on this Machine and, when its
// file has an [X-Container] section, the name its container has with
// systemd-machined (task.MachineName): where flotactl exec runs a command.
// The file decides, not whether a container runs now, so that a command
// for a container that is not running is refused, never run on the
// machine instead.
func (a *Agent) ContainerOf(ctx context.Context, unit string) (container string, placed bool, err error) {
	a.mu.Lock()
	p, ok := a.placements[unit]
	a.mu.Unlock()
	if !ok {
		return "", false, nil
	}
	data, err := a.store.File(ctx, p.Hash)
	if err != nil {
		return "", true, fmt.Errorf("unit %s: read its file: %w", unit, err)
	}
	if isContainer(data) {
		return task.MachineName(unit), true, nil
	}
	return "", true, nil
}
