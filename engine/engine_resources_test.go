package engine_test

import (
	"context"
	"slices"
	"testing"
	"time"

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
			st.Unplaced["big.service"] != "" && st.Unplaced["c.service"] != ""
	})
	if where(st, "a.service")[0] == where(st, "b.service")[0] {
		t.Fatalf("a and b share %s, which has room for one", where(st, "a.service")[0])
	}
	if got, want := st.Unplaced["big.service"], "no eligible machine among 2: insufficient memory (2 GiB asked, more than the machine has) filtered 2 machines"; got != want {
		t.Fatalf("big: reason %q, want %q", got, want)
	}
	if got, want := st.Unplaced["c.service"], "no eligible machine among 2: insufficient memory (768 MiB asked) filtered 2 machines"; got != want {
		t.Fatalf("c: reason %q, want %q", got, want)
	}

	join("m3", registry.Capacity{CPUs: 2, MemoryBytes: 4 << 30})
	st = c.eventually("big and c placed on m3", func(st *registry.Status) bool {
		return slices.Equal(where(st, "big.service"), []string{"m3"}) && slices.Equal(where(st, "c.service"), []string{"m3"})
	})
	if r, ok := st.Unplaced["c.service"]; ok {
		t.Fatalf("stale reason %q", r)
	}
}
