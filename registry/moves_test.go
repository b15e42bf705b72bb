package registry_test

import (
	"testing"
	"time"

	"github.com/flota-dev/flota/reason"
	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/registry/registrytest"
)

// TestMoveRecord writes a move with the placement it moves to, in one
// Change, and reads it back through the watch, a fresh load and
// ReadStatus; a zero Move deletes it.
func TestMoveRecord(t *testing.T) {
	ctx := ctxT(t)
	r := registrytest.Registry(t, registrytest.Etcd(t))
	a, l, c := leading(ctx, t, r)
	updates := r.WatchCluster(ctx, c.Revision+1)
	since := time.Unix(1700000000, 0).UTC()
	mv := registry.Move{Unit: "a.service", From: "m1", To: "m2", Since: since,
		Reason: reason.Moved{Code: reason.RebalanceSpread, Args: []string{"pod", "a", "b", "3", "1", "2", "2"}}}
	p := registry.Placement{Unit: "a.service", Machine: "m2", Hash: a.Hash, Desired: registry.StateLaunched}
	if _, err := r.Apply(ctx, l, c, []registry.Change{{Unit: "a.service", Put: []registry.Placement{p}, Move: &mv}}); err != nil {
		t.Fatal(err)
	}
	u := <-updates
	if u.Err != nil {
		t.Fatal(u.Err)
	}
	c.Apply(u)
	if got := c.Moves["a.service"]; got.From != "m1" || got.To != "m2" || !got.Since.Equal(since) || !got.Reason.Equal(mv.Reason) {
		t.Fatalf("watched move %+v", got)
	}
	if c.Placements["a.service"]["m2"] != p {
		t.Fatalf("the placement did not land with its move: %+v", c.Placements)
	}
	fresh, err := r.LoadCluster(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := fresh.Moves["a.service"]; got.To != "m2" || !got.Reason.Equal(mv.Reason) {
		t.Fatalf("loaded move %+v", got)
	}
	st, err := r.ReadStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Moves["a.service"]; got.From != "m1" || got.Reason.String() != "rebalance: spread over pod (a–b) improved from 3–1 to 2–2" {
		t.Fatalf("status move %+v", got)
	}
	if _, err := r.Apply(ctx, l, fresh, []registry.Change{{Unit: "a.service", Move: &registry.Move{}}}); err != nil {
		t.Fatal(err)
	}
	u = <-updates
	c.Apply(u)
	if _, ok := c.Moves["a.service"]; ok {
		t.Fatal("a zero Move did not delete the record")
	}
}
