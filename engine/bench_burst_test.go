package engine_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/flota-dev/flota/engine"
	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/registry/registrytest"
	"github.com/flota-dev/flota/unit"
)

// BenchmarkSubmitBurst submits 5,000 plain units in transactions of 50, as
// many flotactl submits do, to a running Engine with 200 machines, and
// counts its passes until all are placed: the watch delivers one update a
// transaction, and the batch window (engine.Config.Batch) folds a burst
// into few passes. Run with the window and without it.
//
//	go test -run=^$ -bench=SubmitBurst -benchtime=1x ./engine/
func BenchmarkSubmitBurst(b *testing.B) {
	for _, bc := range []struct {
		name  string
		batch time.Duration
	}{{"window-default", 0}, {"no-window", -1}} {
		b.Run(bc.name, func(b *testing.B) {
			for range b.N {
				submitBurstOnce(b, bc.batch)
			}
		})
	}
}

func submitBurstOnce(b *testing.B, batch time.Duration) {
	const machines, units, perTxn = 200, 5000, 50
	b.StopTimer()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	eps := registrytest.Etcd(b)
	reg := registrytest.Registry(b, eps)
	for i := range machines {
		if _, err := reg.Register(ctx, registry.Machine{ID: fmt.Sprintf("machine-%04d", i)}, engine.DefaultTTL); err != nil {
			b.Fatal(err)
		}
	}
	var files []*unit.File
	for i := range units {
		f, err := unit.Parse(fmt.Sprintf("burst%05d.service", i), []byte("[Service]\nExecStart=/bin/true\n"))
		if err != nil {
			b.Fatal(err)
		}
		files = append(files, f)
	}
	placed := countPuts(ctx, b, eps, reg.Prefix()+"cluster/placements/", units)
	ectx, stopEngine := context.WithCancel(ctx)
	e := engine.New(registrytest.Registry(b, eps), engine.Config{ID: "bench", Batch: batch}, quiet())
	done := make(chan struct{})
	go func() { defer close(done); _ = e.Run(ectx) }()
	defer func() { stopEngine(); <-done }()
	if err := e.WaitDecided(ctx, 1); err != nil { // leading: its first pass, of an empty cluster, is not the burst's
		b.Fatal(err)
	}
	before := e.Passes()
	b.StartTimer()
	start := time.Now()
	for s := 0; s < units; s += perTxn {
		if err := reg.CreateUnits(ctx, files[s:s+perTxn], registry.StateLaunched); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-placed:
	case <-ctx.Done():
		b.Fatal("not all units were placed")
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(e.Passes()-before), "passes")
	b.ReportMetric(float64(units)/elapsed.Seconds(), "placements/s")
}
