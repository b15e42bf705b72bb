package engine_test

import (
	"slices"
	"testing"

	"github.com/flota-dev/flota/registry"
)

// TestRelabelMovesOnlyWhatStopsMatching relabels a machine through etcd,
// with no restart of it: the unit whose MachineMetadata= it no longer
// satisfies moves to the machine that does, the unit without the rule stays
// where it runs, and a unit that waited for the new value comes. The Engine
// sees labels only as its cache's effective Metadata: the keep stage does
// the rest.
func TestRelabelMovesOnlyWhatStopsMatching(t *testing.T) {
	c := newCluster(t)
	c.machine("m1", map[string]string{"rack": "r1"})
	c.engine("e1")
	c.start("r1.service", "[Service]\nExecStart=/bin/true\n\n[X-Fleet]\nMachineMetadata=rack=r1\n")
	c.start("free.service", "[Service]\nExecStart=/bin/true\n")
	c.start("r2.service", "[Service]\nExecStart=/bin/true\n\n[X-Fleet]\nMachineMetadata=rack=r2\n")
	c.eventually("r1 and free on m1, r2 waiting", func(st *registry.Status) bool {
		return slices.Equal(where(st, "r1.service"), []string{"m1"}) && slices.Equal(where(st, "free.service"), []string{"m1"}) &&
			!st.Unplaced["r2.service"].IsZero()
	})
	c.machine("m2", map[string]string{"rack": "r1"})
	c.eventually("m2 seen", func(st *registry.Status) bool { return len(st.Machines) == 2 })

	_, rev, err := c.reg.MachinePlacements(c.ctx, "m1")
	if err != nil {
		t.Fatal(err)
	}
	events := c.reg.WatchPlacements(c.ctx, "m1", rev)
	if _, err := c.reg.SetLabels(c.ctx, "m1", registry.LabelChange{Set: map[string]string{"rack": "r2"}}); err != nil {
		t.Fatal(err)
	}
	st := c.eventually("r1 on m2, r2 on m1", func(st *registry.Status) bool {
		return slices.Equal(where(st, "r1.service"), []string{"m2"}) && slices.Equal(where(st, "r2.service"), []string{"m1"})
	})
	if got := where(st, "free.service"); !slices.Equal(got, []string{"m1"}) {
		t.Fatalf("free.service, which has no rule, is on %v, want it kept on m1", got)
	}
	// Every change of m1's placements, up to both expected ones: none may be
	// free.service's (moved away and back would show here).
	for left := 2; left > 0; {
		select {
		case ev := <-events:
			if ev.Err != nil {
				t.Fatal(ev.Err)
			}
			switch p := ev.Placement; {
			case p.Unit == "free.service":
				t.Fatalf("free.service's placement on m1 changed (removed %v)", ev.Removed)
			case p.Unit == "r1.service" && ev.Removed, p.Unit == "r2.service" && !ev.Removed:
				left--
			}
		case <-c.ctx.Done():
			t.Fatal("m1's placement changes never came")
		}
	}
	for _, m := range st.Machines {
		if m.ID == "m1" && (m.Metadata["rack"] != "r2" || m.Registered["rack"] != "r1") {
			t.Errorf("m1 metadata %v registered %v, want rack=r2 over the flags' rack=r1", m.Metadata, m.Registered)
		}
	}
}
