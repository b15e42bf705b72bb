package engine

import (
	"context"
	"testing"
	"time"

	"github.com/flota-dev/flota/clock/clocktest"
	"github.com/flota-dev/flota/registry"
)

// TestGather: the Engine takes the watch updates of a burst into one
// pass. It waits the batch window after the first, on its clock, takes
// what is waiting once the window is over, and stops at MaxBatch.
func TestGather(t *testing.T) {
	ctx := t.Context()
	start := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	t.Run("the updates of the window, then what is waiting", func(t *testing.T) {
		clk := clocktest.New(start)
		e := New(nil, Config{Clock: clk, Batch: 5 * time.Millisecond}, nil)
		updates := make(chan registry.ClusterUpdate, 10)
		c := &registry.Cluster{}
		armed := clk.Armed()
		done := make(chan error, 1)
		go func() {
			done <- e.gather(ctx, updates, c, registry.ClusterUpdate{Revision: 1}, func(registry.ClusterUpdate) {})
		}()
		<-armed // the window is open
		updates <- registry.ClusterUpdate{Revision: 2}
		updates <- registry.ClusterUpdate{Revision: 3}
		select {
		case err := <-done:
			t.Fatalf("gather returned (%v) inside its window", err)
		case <-time.After(20 * time.Millisecond): // it may not return: a bound on waiting, not on the result
		}
		clk.Advance(5 * time.Millisecond)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if c.Revision != 3 {
			t.Fatalf("revision %d, want 3: the window's updates folded in", c.Revision)
		}
	})
	t.Run("no window: only what is waiting", func(t *testing.T) {
		e := New(nil, Config{Clock: clocktest.New(start), Batch: -1}, nil)
		updates := make(chan registry.ClusterUpdate, 10)
		updates <- registry.ClusterUpdate{Revision: 2}
		c := &registry.Cluster{}
		if err := e.gather(ctx, updates, c, registry.ClusterUpdate{Revision: 1}, func(registry.ClusterUpdate) {}); err != nil || c.Revision != 2 {
			t.Fatalf("err %v, revision %d; want nil and 2", err, c.Revision)
		}
	})
	t.Run("MaxBatch ends the gathering", func(t *testing.T) {
		e := New(nil, Config{Clock: clocktest.New(start), Batch: time.Hour, MaxBatch: 3}, nil)
		updates := make(chan registry.ClusterUpdate, 10)
		for r := int64(2); r <= 6; r++ {
			updates <- registry.ClusterUpdate{Revision: r}
		}
		c := &registry.Cluster{}
		if err := e.gather(ctx, updates, c, registry.ClusterUpdate{Revision: 1}, func(registry.ClusterUpdate) {}); err != nil || c.Revision != 3 {
			t.Fatalf("err %v, revision %d; want nil and 3 (three updates of one event at most)", err, c.Revision)
		}
		if len(updates) != 3 {
			t.Fatalf("%d updates left waiting, want 3", len(updates))
		}
	})
	t.Run("a broken watch ends it with its error; a closed one is the caller's", func(t *testing.T) {
		e := New(nil, Config{Clock: clocktest.New(start), Batch: time.Hour}, nil)
		updates := make(chan registry.ClusterUpdate, 2)
		updates <- registry.ClusterUpdate{Err: registry.ErrCompacted}
		if err := e.gather(ctx, updates, &registry.Cluster{}, registry.ClusterUpdate{}, func(registry.ClusterUpdate) {}); err != registry.ErrCompacted {
			t.Fatalf("err %v, want ErrCompacted", err)
		}
		close(updates)
		if err := e.gather(ctx, updates, &registry.Cluster{}, registry.ClusterUpdate{}, func(registry.ClusterUpdate) {}); err != nil {
			t.Fatalf("err %v on a closed watch, want nil", err)
		}
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := e.gather(cctx, make(chan registry.ClusterUpdate), &registry.Cluster{}, registry.ClusterUpdate{}, func(registry.ClusterUpdate) {}); err != context.Canceled {
			t.Fatalf("err %v, want context.Canceled", err)
		}
	})
}
