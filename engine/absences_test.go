package engine

import (
	"testing"
	"time"
)

func set(ids ...string) map[string]bool {
	out := map[string]bool{}
	for _, id := range ids {
		out[id] = true
	}
	return out
}

func TestAbsences(t *testing.T) {
	const ttl = 5 * time.Second
	type look struct {
		at      time.Duration
		present []string
		placed  []string
		want    map[string]time.Duration // machine -> hold
	}
	tests := []struct {
		name  string
		looks []look
	}{
		{"missing when leadership began: held a TTL", []look{
			{0, []string{"m2"}, []string{"m1", "m2"}, map[string]time.Duration{"m1": ttl}},
		}},
		{"seen going: no hold", []look{
			{0, []string{"m1", "m2", "m3"}, []string{"m1"}, nil},
			{time.Second, []string{"m2", "m3"}, []string{"m1"}, map[string]time.Duration{"m1": 0}},
		}},
		{"most of the cluster going together: held a TTL", []look{
			{0, []string{"m1", "m2", "m3"}, []string{"m1", "m2"}, nil},
			{time.Second, []string{"m3"}, []string{"m1", "m2"}, map[string]time.Duration{"m1": ttl, "m2": ttl}},
		}},
		{"one after the other within a TTL counts too", []look{
			{0, []string{"m1", "m2", "m3"}, []string{"m1", "m2"}, nil},
			{time.Second, []string{"m2", "m3"}, []string{"m1", "m2"}, map[string]time.Duration{"m1": 0}},
			{2 * time.Second, []string{"m3"}, []string{"m1", "m2"}, map[string]time.Duration{"m1": ttl, "m2": ttl}},
		}},
		{"machines without units count as the cluster going", []look{
			{0, []string{"m1", "m2", "m3", "m4"}, []string{"m1"}, nil},
			{time.Second, []string{"m4"}, []string{"m1"}, map[string]time.Duration{"m1": ttl}},
		}},
		{"a machine back is forgotten", []look{
			{0, []string{"m2"}, []string{"m1"}, map[string]time.Duration{"m1": ttl}},
			{time.Second, []string{"m1", "m2"}, []string{"m1"}, nil},
		}},
		{"the hold is counted from the first sight", []look{
			{0, []string{"m2"}, []string{"m1"}, map[string]time.Duration{"m1": ttl}},
			{3 * time.Second, []string{"m2"}, []string{"m1"}, map[string]time.Duration{"m1": ttl}},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newAbsences(ttl)
			var since map[string]time.Time
			for i, l := range tc.looks {
				got := a.update(t0.Add(l.at), set(l.present...), set(l.placed...))
				if len(got) != len(l.want) {
					t.Fatalf("look %d: absences %v, want holds %v", i, got, l.want)
				}
				for id, hold := range l.want {
					ab, ok := got[id]
					if !ok || ab.Hold != hold {
						t.Fatalf("look %d: %s absence %+v (present %v), want hold %v", i, id, ab, ok, hold)
					}
					if since == nil {
						since = map[string]time.Time{}
					}
					if first, ok := since[id]; ok && !ab.Since.Equal(first) {
						t.Fatalf("look %d: %s since moved from %v to %v", i, id, first, ab.Since)
					}
					since[id] = ab.Since
				}
			}
		})
	}
}
