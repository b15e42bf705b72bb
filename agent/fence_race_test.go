package agent_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/flota-dev/flota/agent"
	"github.com/flota-dev/flota/agent/systemd/systemdtest"
	"github.com/flota-dev/flota/unit"
)

// TestFenceUpAndDownDuringAPass: the fence rises and falls while a pass,
// which read systemd's view of a running unit before, waits on etcd for
// another unit's file. The unit the fence stopped must start again: that
// pass must not take the stale "running" for the truth and remember it as
// started (found by the simulated machines of make scale: units left
// inactive after fences at 5,000 machines).
func TestFenceUpAndDownDuringAPass(t *testing.T) {
	fake, src, fs := systemdtest.NewFake(), newSource(), newFiles()
	var gate struct {
		sync.Mutex
		h                 unit.Hash
		entered, released chan struct{}
	}
	file := func(ctx context.Context, h unit.Hash) ([]byte, error) {
		gate.Lock()
		hold := gate.entered != nil && gate.h == h
		entered, released := gate.entered, gate.released
		if hold {
			gate.entered = nil // once
		}
		gate.Unlock()
		if hold {
			close(entered)
			select {
			case <-released:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return fs.file(ctx, h)
	}
	u := agent.NewUnits(fake, file, src.snapshot, agent.Config{MachineID: "m1", Debounce: 2 * time.Millisecond}, quiet())
	u.SetPublisher(newRecorder())
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- u.Run(ctx) }()
	defer func() { cancel(); <-done }()

	web := fs.addText("[Service]\nExecStart=/bin/sleep 3600\n\n[X-Fleet]\nConflicts=web@*\n")
	src.set(launched("web@1.service", web))
	eventually(t, "web@1 running", func() bool { return fake.Status("web@1.service").Active == "active" })

	slow := fs.add("/bin/sleep 7200")
	gate.Lock()
	gate.h, gate.entered, gate.released = slow, make(chan struct{}), make(chan struct{})
	entered, released := gate.entered, gate.released
	gate.Unlock()
	src.set(launched("b.service", slow))
	<-entered // a pass waits for b's file, web@1 read as running before
	u.SetFenced(ctx, true)
	if got := fake.Status("web@1.service").Active; got != "inactive" {
		t.Fatalf("fenced: web@1 is %s, want inactive", got)
	}
	u.SetFenced(ctx, false)
	close(released)
	eventually(t, "web@1 running again once the fence is down", func() bool { return fake.Status("web@1.service").Active == "active" })
	eventually(t, "b running", func() bool { return fake.Status("b.service").Active == "active" })
}
