package engine_test

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flota-dev/flota/engine"
	"github.com/flota-dev/flota/reason"
	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/registry/registrytest"
)

// TestEngineRebalance: through a real etcd, a pod that joins takes a unit
// of each skewed spread: make-before-break for the one that may run twice
// (the old copy goes once the Engine has read the new one active),
// break-before-make for the one with Conflicts= (placed again once the
// Engine has read its old copy gone); each move is recorded in etcd and
// logged with its reason.
func TestEngineRebalance(t *testing.T) {
	c := newCluster(t)
	presence := map[string]*registry.Presence{}
	for _, m := range []string{"m1", "m2"} {
		p, err := c.reg.Register(c.ctx, registry.Machine{ID: m, IP: "127.0.0.1", Metadata: map[string]string{"pod": "a"}}, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		presence[m] = p
	}
	var logs syncBuffer
	e := engine.New(registrytest.Registry(t, c.eps), engine.Config{ID: "e1", LeaderTTL: time.Second,
		Rebalance: engine.Rebalance{PerMinute: 6, Threshold: 1}}, slog.New(slog.NewTextHandler(&logs, nil)))
	ctx, stop := context.WithCancel(c.ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = e.Run(ctx) }()
	t.Cleanup(func() { stop(); <-done })

	c.start("s@1.service", "[Service]\nExecStart=/bin/true\n[X-Fleet]\nSpreadBy=pod\n")
	c.start("s@2.service", "[Service]\nExecStart=/bin/true\n[X-Fleet]\nSpreadBy=pod\n")
	c.start("c@1.service", "[Service]\nExecStart=/bin/true\n[X-Fleet]\nSpreadBy=pod\nConflicts=c@*\n")
	c.start("c@2.service", "[Service]\nExecStart=/bin/true\n[X-Fleet]\nSpreadBy=pod\nConflicts=c@*\n")
	st := c.eventually("all placed in pod a", func(st *registry.Status) bool { return len(st.Placements) == 4 })
	hash := map[string]registry.Placement{}
	for _, p := range st.Placements {
		hash[p.Unit] = p
	}
	publish := func(u, m string) {
		t.Helper()
		if err := presence[m].PublishState(c.ctx, registry.UnitState{Unit: u, Machine: m, Hash: hash[u].Hash, Load: "loaded", Active: "active", Sub: "running", State: registry.StateLaunched}); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range st.Placements {
		publish(p.Unit, p.Machine)
	}
	s1, c1 := hash["s@1.service"].Machine, hash["c@1.service"].Machine
	p3, err := c.reg.Register(c.ctx, registry.Machine{ID: "m3", IP: "127.0.0.1", Metadata: map[string]string{"pod": "b"}}, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	presence["m3"] = p3

	c.eventually("s@1 on its machine and m3, c@1 stopping", func(st *registry.Status) bool {
		return slices.Equal(where(st, "s@1.service"), []string{s1, "m3"}) && len(where(st, "c@1.service")) == 0 &&
			st.Unplaced["c@1.service"].Code == reason.StoppingElsewhere
	})
	publish("s@1.service", "m3")
	c.eventually("s@1 on m3 only", func(st *registry.Status) bool { return slices.Equal(where(st, "s@1.service"), []string{"m3"}) })
	if err := presence[c1].DeleteState(c.ctx, c1, "c@1.service"); err != nil {
		t.Fatal(err)
	}
	st = c.eventually("c@1 on m3 once its copy stopped", func(st *registry.Status) bool {
		return slices.Equal(where(st, "c@1.service"), []string{"m3"})
	})
	for u, from := range map[string]string{"s@1.service": s1, "c@1.service": c1} {
		mv := st.Moves[u]
		if mv.From != from || mv.To != "m3" || mv.Reason.Code != reason.RebalanceSpread {
			t.Errorf("%s's move record %+v", u, mv)
		}
	}
	if got := logs.String(); !strings.Contains(got, `msg="unit moves" unit=s@1.service from=`+s1+` to=m3 reason="rebalance: spread over pod (a–b) improved from 2–0 to 1–1"`) {
		t.Errorf("the move was not logged:\n%s", got)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
