package engine_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/flota-dev/flota/reason"
	"github.com/flota-dev/flota/registry"
)

// TestEngineReservesCapacity runs the Engine on the registry: a unit's
// MemoryMax= goes from its file to its record at submit and from there to
// the scheduler, against the capacity machines publish with their
// presence.
func TestEngineReservesCapacity(t *testing.T) {
	c := newCluster(t)
	join := func(id string, capacity registry.Capacity) {
		ctx, cancel := context.WithCancel(c.ctx)
		t.Cleanup(cancel)
		if _, err := c.reg.Register(ctx, registry.Machine{ID: id, IP: "127.0.0.1", Capacity: capacity}, time.Second); err != nil {
			t.Fatal(err)
		}
	}
	join("m1", registry.Capacity{CPUs: 2, MemoryBytes: 1 << 30})
	join("m2", registry.Capacity{CPUs: 2, MemoryBytes: 1 << 30})
	c.engine("e1")
	c.start("big.service", "[Service]\nExecStart=/bin/true\nMemoryMax=2G\n")
	c.start("a.service", "[Service]\nExecStart=/bin/true\nMemoryMax=768M\n")
	c.start("b.service", "[Service]\nExecStart=/bin/true\nMemoryMax=768M\n")
	c.start("c.service", "[Service]\nExecStart=/bin/true\nMemoryMax=768M\n")
	c.start("plain.service", "[Service]\nExecStart=/bin/true\n")
	st := c.eventually("a, b and plain placed; big and c explained", func(st *registry.Status) bool {
		return len(where(st, "a.service")) == 1 && len(where(st, "b.service")) == 1 && len(where(st, "plain.service")) == 1 &&
			!st.Unplaced["big.service"].IsZero() && !st.Unplaced["c.service"].IsZero()
	})
	if where(st, "a.service")[0] == where(st, "b.service")[0] {
		t.Fatalf("a and b share %s, which has room for one", where(st, "a.service")[0])
	}
	// The records come back from etcd as the Engine stored them.
	filtered := func(code reason.Code, args ...string) reason.Unplaced {
		return reason.Unplaced{Code: reason.NoEligible, Filters: []reason.Filter{{Code: code, Args: args, Machines: 2}}}
	}
	if got, want := st.Unplaced["big.service"], filtered(reason.ExceedsCapacity, "memory", "2147483648"); !got.Equal(want) {
		t.Fatalf("big: reason %+v, want %+v", got, want)
	}
	if got, want := st.Unplaced["c.service"], filtered(reason.Insufficient, "memory", "805306368"); !got.Equal(want) {
		t.Fatalf("c: reason %+v, want %+v", got, want)
	}

	join("m3", registry.Capacity{CPUs: 2, MemoryBytes: 4 << 30})
	st = c.eventually("big and c placed on m3", func(st *registry.Status) bool {
		return slices.Equal(where(st, "big.service"), []string{"m3"}) && slices.Equal(where(st, "c.service"), []string{"m3"})
	})
	if r, ok := st.Unplaced["c.service"]; ok {
		t.Fatalf("stale reason %q", r)
	}
}
