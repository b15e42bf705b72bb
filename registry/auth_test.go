package registry_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/flota-dev/flota/pki"
	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/registry/registrytest"
	"github.com/flota-dev/flota/unit"
)

// TestRoles: with etcd's authentication on, each certificate does what its
// roles grant and no more. A machine registers and publishes its own
// states, but cannot register as another, publish another's states, submit
// a unit or campaign; the engine campaigns and places; an operator
// submits. What is refused is ErrDenied and changes nothing.
func TestRoles(t *testing.T) {
	ctx := ctxT(t)
	dir := testPKI(t, "etcd", "root", "operator", "engine", "machine-m1")
	endpoint := startTLS(ctx, t, dir)
	caFile, _ := pki.Files(dir, "ca")
	as := func(name string) *registry.Registry {
		t.Helper()
		c, k := pki.Files(dir, name)
		r, err := registry.Connect(registry.Config{Endpoints: []string{endpoint}, CAFile: caFile, CertFile: c, KeyFile: k})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		return r
	}
	root := as("root")
	for user, roles := range map[string][]string{"operator": {registry.RoleOperator}, "engine": {registry.RoleEngine}, "machine-m1": {registry.RoleMachine("m1")}} {
		if err := root.Grant(ctx, user, roles...); err != nil {
			t.Fatal(err)
		}
	}
	if err := root.EnableAuth(ctx); err != nil {
		t.Fatal(err)
	}
	denied := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, registry.ErrDenied) {
			t.Errorf("%s: %v, want ErrDenied", what, err)
		}
	}

	m1, op, eng := as("machine-m1"), as("operator"), as("engine")
	f, err := unit.Parse("a.service", []byte("[Service]\nExecStart=/bin/true\n"))
	if err != nil {
		t.Fatal(err)
	}
	denied("a machine submits a unit", m1.CreateUnits(ctx, []*unit.File{f}, registry.StateLaunched))
	if err := op.CreateUnits(ctx, []*unit.File{f}, registry.StateLaunched); err != nil {
		t.Fatalf("the operator submits a unit: %v", err)
	}
	p, err := m1.Register(ctx, registry.Machine{ID: "m1", IP: "127.0.0.2"}, 5*time.Second)
	if err != nil {
		t.Fatalf("machine m1 registers: %v", err)
	}
	if err := p.PublishState(ctx, registry.UnitState{Unit: "a.service", Machine: "m1", Active: "active", State: registry.StateLaunched}); err != nil {
		t.Fatalf("machine m1 publishes its state: %v", err)
	}
	denied("m1 publishes m2's state", p.PublishState(ctx, registry.UnitState{Unit: "a.service", Machine: "m2", Active: "active", State: registry.StateLaunched}))
	_, err = m1.Register(ctx, registry.Machine{ID: "m2", IP: "127.0.0.3"}, 5*time.Second)
	denied("m1 registers as m2", err)
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	_, err = m1.Campaign(cctx, "rogue", 5*time.Second)
	cancel()
	denied("a machine campaigns for the engine's leadership", err)

	l, err := eng.Campaign(ctx, "e1", 5*time.Second)
	if err != nil {
		t.Fatalf("the engine campaigns: %v", err)
	}
	c, err := eng.LoadCluster(ctx, nil)
	if err != nil {
		t.Fatalf("the engine loads the cluster: %v", err)
	}
	pl := registry.Placement{Unit: "a.service", Machine: "m1", Hash: f.Hash, Desired: registry.StateLaunched}
	if _, err := eng.Apply(ctx, l, c, []registry.Change{{Unit: "a.service", Put: []registry.Placement{pl}}}); err != nil {
		t.Fatalf("the engine places a unit: %v", err)
	}
	ps, _, err := m1.MachinePlacements(ctx, "m1")
	if err != nil || len(ps) != 1 {
		t.Fatalf("m1 reads its placements: %v %v", ps, err)
	}
	_, _, err = m1.MachinePlacements(ctx, "m2")
	denied("m1 reads m2's placements", err)
	ms, err := op.Machines(ctx)
	if err != nil || len(ms) != 1 || ms[0].ID != "m1" {
		t.Fatalf("machines %v (err %v): want m1 alone, nothing of the refused m2", ms, err)
	}
}

// TestGrantTwice: granting again what a user has changes nothing and is
// no error (a machine re-enrolled, an operator's script run twice).
func TestGrantTwice(t *testing.T) {
	ctx := ctxT(t)
	r := registrytest.Registry(t, registrytest.Etcd(t))
	for range 2 {
		if err := r.Grant(ctx, "root", "root"); err != nil {
			t.Fatal(err)
		}
		if err := r.Grant(ctx, "machine-m1", registry.RoleMachine("m1"), registry.RoleEngine); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Grant(ctx, "x", "admin"); !errors.Is(err, registry.ErrInvalid) {
		t.Fatalf("an unknown role: %v, want ErrInvalid", err)
	}
}
