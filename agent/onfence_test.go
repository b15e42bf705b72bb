package agent_test

import (
	"context"
	"testing"
	"time"

	"github.com/flota-dev/flota/agent"
	"github.com/flota-dev/flota/agent/systemd/systemdtest"
	"github.com/flota-dev/flota/clock/clocktest"
	"github.com/flota-dev/flota/registry/registrytest"
)

// TestOnFenceIsTold: when the fuse blows, Config.OnFence hears of it. The
// agent's clock stands an hour after the keep-alive answers' (real) times,
// so none of them renews the fuse, and moving it past the lease blows it.
func TestOnFenceIsTold(t *testing.T) {
	reg := registrytest.Registry(t, registrytest.Etcd(t))
	clk := clocktest.New(time.Now().Add(time.Hour))
	told := make(chan bool, 4)
	a := agent.New(reg, agent.Config{MachineID: "m1", TTL: 3 * time.Second, Systemd: systemdtest.NewFake(), Clock: clk,
		OnFence: func(raised bool) { told <- raised }}, quiet())
	ctx, cancel := context.WithCancel(t.Context())
	armed := clk.Armed()
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done }()
	<-armed // the fuse waits on the clock
	clk.Advance(3 * time.Second)
	select {
	case raised := <-told:
		if !raised {
			t.Fatal("OnFence(false) before any fence rose")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the fuse blew and OnFence was not told")
	}
}
