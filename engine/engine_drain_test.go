package engine_test

import (
	"slices"
	"testing"
	"time"

	"github.com/flota-dev/flota/registry"
)

// TestEngineDrain: through a real etcd, a drain moves a unit
// make-before-break: the Engine reads the new copy's state, which it does
// not watch, and takes the old placement off only once it is active.
func TestEngineDrain(t *testing.T) {
	c := newCluster(t)
	m1 := c.present("m1")
	c.engine("e1")
	c.start("a.service", "[Service]\nExecStart=/bin/true\n")
	st := c.eventually("a on m1", func(st *registry.Status) bool { return slices.Equal(where(st, "a.service"), []string{"m1"}) })
	publish := func(p *registry.Presence, machine string) {
		t.Helper()
		u := st.Units[0]
		if err := p.PublishState(c.ctx, registry.UnitState{Unit: "a.service", Machine: machine, Hash: u.Hash, Load: "loaded", Active: "active", Sub: "running", State: registry.StateLaunched}); err != nil {
			t.Fatal(err)
		}
	}
	publish(m1, "m1")
	m2 := c.present("m2")
	if err := c.reg.SetDrain(c.ctx, registry.Drain{Machine: "m1", Since: time.Now()}); err != nil {
		t.Fatal(err)
	}
	c.eventually("a on m1 and m2 while m2's copy starts", func(st *registry.Status) bool {
		return slices.Equal(where(st, "a.service"), []string{"m1", "m2"})
	})
	publish(m2, "m2") // the Engine is not woken by it: it polls states while a move is in flight
	c.eventually("a on m2 only", func(st *registry.Status) bool { return slices.Equal(where(st, "a.service"), []string{"m2"}) })
	if st, err := c.reg.ReadStatus(c.ctx); err != nil || st.Drains["m1"].Machine != "m1" {
		t.Fatalf("drain record %+v, %v", st.Drains, err)
	}
	if ok, err := c.reg.Undrain(c.ctx, "m1"); !ok || err != nil {
		t.Fatalf("undrain: %v %v", ok, err)
	}
	if ok, _ := c.reg.Undrain(c.ctx, "m1"); ok {
		t.Fatal("a second undrain found a drain")
	}
}

// present registers a machine and returns its presence, to publish states.
func (c *cluster) present(id string) *registry.Presence {
	c.t.Helper()
	p, err := c.reg.Register(c.ctx, registry.Machine{ID: id, IP: "127.0.0.1"}, 2*time.Second)
	if err != nil {
		c.t.Fatal(err)
	}
	return p
}
