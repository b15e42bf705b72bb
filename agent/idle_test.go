package agent_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/flota-dev/flota/agent"
	"github.com/flota-dev/flota/agent/systemd"
	"github.com/flota-dev/flota/agent/systemd/systemdtest"
	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/unit"
)

// TestIdleCPU measures what idle units cost, on a real systemd: it runs
// FLOTA_IDLE_UNITS (default 500) units through the Agent's systemd side,
// waits until they all run, then measures for FLOTA_IDLE_CPU (e.g. 60s) the
// CPU time of this process (the agent) and of the machine's systemd, and
// counts the agent's calls to systemd (want 0). Run it on a test machine:
//
//	FLOTA_TEST_BUS=$(harness/cluster bus flota-m1) FLOTA_IDLE_CPU=60s \
//	  go test -run TestIdleCPU -v -timeout 10m ./agent/
func TestIdleCPU(t *testing.T) {
	window, err := time.ParseDuration(os.Getenv("FLOTA_IDLE_CPU"))
	if err != nil || window <= 0 {
		t.Skip("set FLOTA_IDLE_CPU to a measuring window (e.g. 60s), and FLOTA_TEST_BUS")
	}
	bus, root := systemdtest.RealBus(t)
	n := 500
	if v, err := strconv.Atoi(os.Getenv("FLOTA_IDLE_UNITS")); err == nil {
		n = v
	}
	ctx := context.Background()
	conn, err := systemd.Connect(ctx, bus, systemd.Config{Dir: "/run/flota-idle/units", Root: root})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close) // after removeIdle: cleanups run last first
	sd := &counting{Systemd: conn}

	data := []byte("[Unit]\nDescription=flota idle CPU test\n\n[Service]\nExecStart=/bin/sleep infinity\n")
	h, _ := unit.HashOf(data)
	src, pub := newSource(), newRecorder()
	file := func(context.Context, unit.Hash) ([]byte, error) { return data, nil }
	units := agent.NewUnits(sd, file, src.snapshot, agent.Config{MachineID: "idle"}, quiet())
	units.SetPublisher(pub)
	actx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- units.Run(actx) }()
	t.Cleanup(func() { removeIdle(t, conn, n) })
	defer func() { stop(); <-done }()

	var ps []registry.Placement
	for i := range n {
		ps = append(ps, registry.Placement{Unit: fmt.Sprintf("flota-idle@%d.service", i), Machine: "idle", Hash: h, Desired: registry.StateLaunched})
	}
	began := time.Now()
	src.set(ps...)
	deadline := time.Now().Add(5 * time.Minute)
	for !allLaunched(pub, ps) {
		if time.Now().After(deadline) {
			t.Fatalf("%d units not all running after 5 minutes", n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("%d units running %.1fs after being placed, %d calls to systemd", n, time.Since(began).Seconds(), sd.calls.Load())
	time.Sleep(2 * time.Second) // let the last signals drain

	calls, self, sys := sd.calls.Load(), selfCPU(), pidCPU(root)
	select {
	case err := <-done:
		done <- err
		t.Fatalf("the agent ended during the measurement (did the machine restart?): %v", err)
	case <-time.After(window):
	}
	selfUsed, sysUsed := selfCPU()-self, pidCPU(root)-sys
	if sysUsed < 0 {
		t.Fatal("the machine's systemd restarted during the measurement: run again on a quiet machine")
	}
	t.Logf("idle for %s with %d units: agent CPU %v (%.3f%%), systemd CPU %v (%.3f%%), %d calls to systemd",
		window, n, selfUsed, 100*selfUsed.Seconds()/window.Seconds(), sysUsed, 100*sysUsed.Seconds()/window.Seconds(), sd.calls.Load()-calls)
	if sd.calls.Load() != calls {
		t.Errorf("the idle agent called systemd %d times", sd.calls.Load()-calls)
	}
}

// counting counts the calls made to a Systemd.
type counting struct {
	agent.Systemd
	calls atomic.Int64
}

func (c *counting) UnitFiles(ctx context.Context) (map[string]unit.Hash, error) {
	c.calls.Add(1)
	return c.Systemd.UnitFiles(ctx)
}

func (c *counting) Units(ctx context.Context, names []string) (map[string]agent.UnitStatus, error) {
	c.calls.Add(1)
	return c.Systemd.Units(ctx, names)
}

func (c *counting) Reload(ctx context.Context) error {
	c.calls.Add(1)
	return c.Systemd.Reload(ctx)
}

func (c *counting) Start(ctx context.Context, name string) error {
	c.calls.Add(1)
	return c.Systemd.Start(ctx, name)
}

func (c *counting) Stop(ctx context.Context, name string) error {
	c.calls.Add(1)
	return c.Systemd.Stop(ctx, name)
}

func allLaunched(pub *recorder, ps []registry.Placement) bool {
	for _, p := range ps {
		if s, ok := pub.row(p.Unit); !ok || !isLaunched(s) {
			return false
		}
	}
	return true
}

// selfCPU is this process's CPU time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// pidCPU is the CPU time of the machine's PID 1 (its systemd), when root is
// /proc/PID/root; 0 otherwise.
func pidCPU(root string) time.Duration {
	pid, ok := strings.CutSuffix(strings.TrimPrefix(root, "/proc/"), "/root")
	if !ok {
		return 0
	}
	stat, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	// Fields after the command (which may hold spaces) end at ')'.
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ
}

// removeIdle stops and removes the test's units.
func removeIdle(t *testing.T, conn *systemd.Conn, n int) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for i := range n {
		name := fmt.Sprintf("flota-idle@%d.service", i)
		if err := conn.Stop(ctx, name); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		if err := conn.RemoveUnitFile(ctx, name); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	}
	if err := conn.Reload(ctx); err != nil {
		t.Errorf("cleanup: %v", err)
	}
}
