package registry_test

import (
	"testing"
	"time"

	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/registry/registrytest"
)

// TestKeepAliveStats: a Registry times its lease keep-alives, from the
// request sent to the answer read and on to the Presence it renews.
func TestKeepAliveStats(t *testing.T) {
	ctx := ctxT(t)
	r := registrytest.Registry(t, registrytest.Etcd(t))
	p, err := r.Register(ctx, registry.Machine{ID: "m1"}, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// The first answer, then one a period (1 s) later; each is timed
	// before the Presence hears of it (Acked).
	for {
		select {
		case <-p.Acked():
		case <-ctx.Done():
			t.Fatalf("stats %+v", r.KeepAliveStats())
		}
		s := r.KeepAliveStats()
		if s.Answered >= 2 && s.Gap > 500*time.Millisecond {
			if n := sum(s.Trip.Counts[:]); n < 2 || s.Trip.Max <= 0 || s.Trip.Max > 3*time.Second {
				t.Fatalf("trip %+v after %d answers", s.Trip, s.Answered)
			}
			if sum(s.Handoff.Counts[:]) < 2 {
				t.Fatalf("handoff %+v after %d answers", s.Handoff, s.Answered)
			}
			return
		}
	}
}

func sum(c []int) int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

func TestDurationsQuantile(t *testing.T) {
	var d registry.Durations
	if d.Quantile(0.99) != 0 {
		t.Error("an empty distribution has a quantile")
	}
	for range 98 {
		d = d.With(3 * time.Millisecond) // bucket [2 ms, 4 ms)
	}
	d = d.With(100 * time.Millisecond)
	d = d.With(time.Minute) // past the last bound
	if q := d.Quantile(0.5); q != 4*time.Millisecond {
		t.Errorf("p50 %v, want 4ms", q)
	}
	if q := d.Quantile(0.99); q != 128*time.Millisecond {
		t.Errorf("p99 %v, want 128ms", q)
	}
	if q := d.Quantile(1); q != time.Minute || d.Max != time.Minute {
		t.Errorf("p100 %v max %v, want 1m", q, d.Max)
	}
	if s := d.Sub(d); d.Sub(d).Quantile(0.5) != 0 || s.Max != time.Minute {
		t.Errorf("d - d = %+v", s)
	}
}
