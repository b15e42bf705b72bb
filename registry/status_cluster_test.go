package registry_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/flota-dev/flota/reason"
	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/registry/registrytest"
	"github.com/flota-dev/flota/unit"
)

// TestStatusCluster: a Status read over etcd, made a Cluster, is the
// Cluster LoadCluster reads at that revision.
func TestStatusCluster(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r := registrytest.Registry(t, registrytest.Etcd(t))
	if _, err := r.Register(ctx, registry.Machine{ID: "m1", IP: "10.0.0.1", Metadata: map[string]string{"zone": "a"}}, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	var files []*unit.File
	for _, n := range []string{"a.service", "b.service"} {
		f, err := unit.Parse(n, []byte("[Service]\nExecStart=/bin/true\n[X-Fleet]\nConflicts=b*\n"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	if err := r.CreateUnits(ctx, files, registry.StateLaunched); err != nil {
		t.Fatal(err)
	}
	l, err := r.Campaign(ctx, "e", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Resign(ctx)
	c, err := r.LoadCluster(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Apply(ctx, l, c, []registry.Change{
		{Unit: "a.service", Put: []registry.Placement{{Unit: "a.service", Machine: "m1", Hash: files[0].Hash, Desired: registry.StateLaunched}}},
		{Unit: "b.service", Unplaced: &reason.Unplaced{Code: reason.NoEligible}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.SetLabels(ctx, "m1", registry.LabelChange{Set: map[string]string{"rack": "r1"}}); err != nil {
		t.Fatal(err)
	}
	st, err := r.ReadStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want, err := r.LoadCluster(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := st.Cluster()
	for _, tt := range []struct {
		name      string
		got, want any
	}{
		{"revision", got.Revision, want.Revision},
		{"units", got.Units, want.Units},
		{"machines", got.Machines, want.Machines},
		{"placements", got.Placements, want.Placements},
		{"unplaced", got.Unplaced, want.Unplaced},
		{"labels", got.Labels, want.Labels},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("from the Status %+v, LoadCluster %+v", tt.got, tt.want)
			}
		})
	}
}
