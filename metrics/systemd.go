package metrics

import (
	"context"
	"time"

	"github.com/flota-dev/flota/agent"
	"github.com/flota-dev/flota/unit"
)

// Systemd counts and times the calls an Agent makes of sd, by call and
// result (flota_agent_systemd_calls_total, _seconds).
func (m *Metrics) Systemd(sd agent.Systemd) agent.Systemd { return &countedSystemd{sd: sd, m: m} }

type countedSystemd struct {
	sd agent.Systemd
	m  *Metrics
}

var _ agent.Systemd = (*countedSystemd)(nil)

// done records one call that began at t0.
func (c *countedSystemd) done(call string, t0 time.Time, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	c.m.sdCalls.WithLabelValues(call, result).Inc()
	c.m.sdSeconds.WithLabelValues(call).Observe(time.Since(t0).Seconds())
}

func (c *countedSystemd) UnitFiles(ctx context.Context) (map[string]unit.Hash, error) {
	t0 := time.Now()
	v, err := c.sd.UnitFiles(ctx)
	c.done("UnitFiles", t0, err)
	return v, err
}

func (c *countedSystemd) WriteUnitFile(ctx context.Context, name string, data []byte) error {
	t0 := time.Now()
	err := c.sd.WriteUnitFile(ctx, name, data)
	c.done("WriteUnitFile", t0, err)
	return err
}

func (c *countedSystemd) WriteUnitFiles(ctx context.Context, files []agent.UnitFile) map[string]error {
	t0 := time.Now()
	errs := c.sd.WriteUnitFiles(ctx, files)
	var err error
	for _, e := range errs {
		err = e
	}
	c.done("WriteUnitFiles", t0, err)
	return errs
}

func (c *countedSystemd) RemoveUnitFile(ctx context.Context, name string) error {
	t0 := time.Now()
	err := c.sd.RemoveUnitFile(ctx, name)
	c.done("RemoveUnitFile", t0, err)
	return err
}

func (c *countedSystemd) Enable(ctx context.Context, name string) error {
	t0 := time.Now()
	err := c.sd.Enable(ctx, name)
	c.done("Enable", t0, err)
	return err
}

func (c *countedSystemd) Reload(ctx context.Context) error {
	t0 := time.Now()
	err := c.sd.Reload(ctx)
	c.done("Reload", t0, err)
	return err
}

func (c *countedSystemd) Load(ctx context.Context, names []string) (map[string]agent.UnitStatus, error) {
	t0 := time.Now()
	v, err := c.sd.Load(ctx, names)
	c.done("Load", t0, err)
	return v, err
}

func (c *countedSystemd) NeedReload(ctx context.Context, names []string) (map[string]bool, error) {
	t0 := time.Now()
	v, err := c.sd.NeedReload(ctx, names)
	c.done("NeedReload", t0, err)
	return v, err
}

func (c *countedSystemd) Start(ctx context.Context, name string) error {
	t0 := time.Now()
	err := c.sd.Start(ctx, name)
	c.done("Start", t0, err)
	return err
}

func (c *countedSystemd) Stop(ctx context.Context, name string) error {
	t0 := time.Now()
	err := c.sd.Stop(ctx, name)
	c.done("Stop", t0, err)
	return err
}

func (c *countedSystemd) Units(ctx context.Context, names []string) (map[string]agent.UnitStatus, error) {
	t0 := time.Now()
	v, err := c.sd.Units(ctx, names)
	c.done("Units", t0, err)
	return v, err
}

func (c *countedSystemd) Foreign(ctx context.Context, names []string) (map[string]string, error) {
	t0 := time.Now()
	v, err := c.sd.Foreign(ctx, names)
	c.done("Foreign", t0, err)
	return v, err
}

// Watch is not timed: it lasts as long as the Agent.
func (c *countedSystemd) Watch(ctx context.Context) (<-chan string, error) {
	return c.sd.Watch(ctx)
}
