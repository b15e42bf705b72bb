package engine_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flota-dev/flota/engine"
	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/registry/registrytest"
)

// BenchmarkLeasesUnderLoad keeps 1,000 machine leases of the default TTL
// alive, each machine on a client of its own as agents are, while four
// writers load the same embedded etcd (fsync on) with 100-key transactions
// for 30 s. A lease lost is a machine the Engine would have taken for dead:
// the aim is none.
//
//	go test -run=^$ -bench=LeasesUnderLoad -benchtime=1x ./engine/
func BenchmarkLeasesUnderLoad(b *testing.B) {
	for range b.N {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		eps := registrytest.Etcd(b)
		measuring, stop := context.WithCancel(ctx)
		var lost atomic.Int64
		const clients = 50 // 20 machines a client: 1,000 connections would measure the test box, not etcd
		for c := range clients {
			reg := registrytest.Registry(b, eps)
			for i := range benchMachines / clients {
				p, err := reg.Register(ctx, registry.Machine{ID: fmt.Sprintf("machine-%02d-%03d", c, i)}, engine.DefaultTTL)
				if err != nil {
					b.Fatal(err)
				}
				countLost(measuring, p, &lost)
			}
		}
		const load = 30 * time.Second
		var writes atomic.Int64
		var wg sync.WaitGroup
		deadline := time.Now().Add(load)
		for range 4 {
			wg.Go(func() {
				for time.Now().Before(deadline) {
					rawWrites(ctx, b, eps, 100, 100)
					writes.Add(100)
				}
			})
		}
		wg.Wait()
		stop()
		b.ReportMetric(float64(lost.Load()), "leases-lost")
		b.ReportMetric(float64(writes.Load())/load.Seconds(), "keys-written/s")
		cancel()
	}
}
