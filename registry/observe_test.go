package registry_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/registry/registrytest"
)

// TestWatchKeys: a tool that follows the whole store is told each key's
// kind, machine and unit, and a state's reported state, without knowing
// the key schema.
func TestWatchKeys(t *testing.T) {
	ctx := ctxT(t)
	eps := registrytest.Etcd(t)
	r := registrytest.Registry(t, eps)
	changes := r.WatchKeys(ctx)
	p, err := r.Register(ctx, registry.Machine{ID: "m1"}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	a, l, c := leading(ctx, t, r)
	pl := registry.Placement{Unit: "a.service", Machine: "m1", Hash: a.Hash, Desired: registry.StateLaunched}
	if _, err := r.Apply(ctx, l, c, []registry.Change{{Unit: "a.service", Put: []registry.Placement{pl}}}); err != nil {
		t.Fatal(err)
	}
	if err := p.PublishState(ctx, registry.UnitState{Unit: "a.service", Machine: "m1", Hash: a.Hash, Active: "active", State: registry.StateLaunched}); err != nil {
		t.Fatal(err)
	}
	if err := p.DeleteState(ctx, "m1", "a.service"); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"machines m1 - put",
		"files - - put",
		"units - a.service put",
		"leader - - put",
		"placements m1 a.service put",
		"states m1 a.service put launched",
		"states m1 a.service delete",
	}
	var got []string
	for len(got) < len(want) {
		select {
		case b := <-changes:
			if b.Err != nil {
				t.Fatal(b.Err)
			}
			for _, ch := range b.Changes {
				s := fmt.Sprintf("%s %s %s", ch.Kind, dash(ch.Machine), dash(ch.Unit))
				if ch.Deleted {
					s += " delete"
				} else {
					s += " put"
				}
				if ch.State != "" {
					s += " " + string(ch.State)
				}
				got = append(got, s)
			}
		case <-ctx.Done():
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	if n, err := r.DBSize(ctx, eps[0]); err != nil || n <= 0 {
		t.Fatalf("DBSize = %d, %v", n, err)
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
