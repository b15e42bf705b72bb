package engine_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/flota-dev/flota/engine"
	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/registry/registrytest"
	"github.com/flota-dev/flota/unit"
)

const (
	benchMachines = 1000
	benchUnits    = 10000
	benchGlobals  = 4
	benchZones    = 4
)

// BenchmarkPlacement places 10,000 units (plain ones, MachineMetadata ones,
// template instances with Conflicts=, and Global ones) on 1,000 registered
// machines through the real registry and Engine on an embedded etcd, then
// writes the same number of keys straight to the same etcd in the same
// batch sizes, so the Engine's own overhead shows apart from etcd's.
//
//	go test -run=^$ -bench=Placement -benchtime=1x ./engine/
func BenchmarkPlacement(b *testing.B) {
	for range b.N {
		benchPlacementOnce(b, benchMetadata, benchUnitFiles)
	}
}

// benchMetadata is machine i's metadata in BenchmarkPlacement: 4 zones, 50
// racks.
func benchMetadata(i int) map[string]string {
	return map[string]string{"zone": fmt.Sprintf("z%d", i%benchZones), "rack": fmt.Sprintf("r%02d", i%50)}
}

// benchPlacementOnce registers benchMachines machines with metadata(i),
// creates the units of mix, and times the Engine placing them all (mix
// tells how many placements that makes), then raw etcd writes of as many
// keys.
func benchPlacementOnce(b *testing.B, metadata func(i int) map[string]string, mix func(*testing.B) ([]*unit.File, int)) {
	b.StopTimer()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	eps := registrytest.Etcd(b)
	reg := registrytest.Registry(b, eps)
	// The machines keep leases of the default TTL alive all along: a lease
	// lost under the load is a machine the Engine would take for dead.
	var lost atomic.Int64
	measuring, stopMeasuring := context.WithCancel(ctx)
	for i := range benchMachines {
		p, err := reg.Register(ctx, registry.Machine{ID: fmt.Sprintf("machine-%04d", i), Metadata: metadata(i)}, engine.DefaultTTL)
		if err != nil {
			b.Fatal(err)
		}
		countLost(measuring, p, &lost)
	}
	files, want := mix(b)
	for start := 0; start < len(files); start += 500 {
		if err := reg.CreateUnits(ctx, files[start:min(start+500, len(files))], registry.StateLaunched); err != nil {
			b.Fatal(err)
		}
	}

	// The Engine runs on a client of its own, so its requests are counted
	// apart from the set-up's.
	ereg := registrytest.Registry(b, eps)
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	placed := countPuts(watchCtx, b, eps, reg.Prefix()+"cluster/placements/", want)
	runtime.GC()
	b.StartTimer()
	start := time.Now()
	ectx, stopEngine := context.WithCancel(ctx)
	e := engine.New(ereg, engine.Config{ID: "bench"}, quiet())
	done := make(chan struct{})
	go func() { defer close(done); _ = e.Run(ectx) }()
	select {
	case <-placed:
	case <-ctx.Done():
		b.Fatal("not all units were placed")
	}
	elapsed := time.Since(start)
	b.StopTimer()
	stopEngine()
	<-done
	txns := ereg.Txns()
	reqs := ereg.Requests()

	perTxn := (want + int(txns) - 1) / int(txns)
	// The raw writes are timed the same way: until a watcher saw them all.
	rawSeen := countPuts(watchCtx, b, eps, "/raw/", want)
	rawStart := time.Now()
	rawWrites(ctx, b, eps, want, perTxn)
	<-rawSeen
	rawElapsed := time.Since(rawStart)

	stopMeasuring()
	rate := float64(want) / elapsed.Seconds()
	raw := float64(want) / rawElapsed.Seconds()
	b.ReportMetric(float64(lost.Load()), "leases-lost")
	b.ReportMetric(float64(want), "placements")
	b.ReportMetric(rate, "placements/s")
	b.ReportMetric(float64(reqs)/float64(want), "etcd-req/placement")
	b.ReportMetric(float64(perTxn), "placements/txn")
	b.ReportMetric(raw, "raw-keys/s")
	b.ReportMetric(raw/rate, "raw/engine")
	b.ReportMetric(peakRSSMiB(), "peak-RSS-MiB")
}

// benchUnitFiles returns the unit mix and the number of placements it
// makes: one per non-global unit plus one per eligible machine of each
// global unit.
func benchUnitFiles(b *testing.B) ([]*unit.File, int) {
	var files []*unit.File
	add := func(name, text string) {
		f, err := unit.Parse(name, []byte(text))
		if err != nil {
			b.Fatal(err)
		}
		files = append(files, f)
	}
	want := 0
	for g := range benchGlobals {
		add(fmt.Sprintf("global%d.service", g), fmt.Sprintf("[Service]\nExecStart=/bin/true\n[X-Fleet]\nGlobal=true\nMachineMetadata=zone=z%d\n", g))
		want += benchMachines / benchZones
	}
	templates := 0
	for i := benchGlobals; i < benchUnits; i++ {
		switch i % 10 {
		case 0, 1, 2: // template instances, one per machine: 30 per template
			t := templates / 30
			add(fmt.Sprintf("web%03d@%d.service", t, templates%30), fmt.Sprintf("[Service]\nExecStart=/bin/web %%i\n[X-Fleet]\nConflicts=web%03d@*\n", t))
			templates++
		case 3, 4: // metadata-bound
			add(fmt.Sprintf("zoned%05d.service", i), fmt.Sprintf("[Service]\nExecStart=/bin/zoned %d\n[X-Fleet]\nMachineMetadata=zone=z%d\nMachineMetadata=\"rack=r%02d\" \"rack=r%02d\"\n", i, i%benchZones, i%50, (i+1)%50))
		default:
			add(fmt.Sprintf("plain%05d.service", i), fmt.Sprintf("[Service]\nExecStart=/bin/plain %d\n", i))
		}
		want++
	}
	return files, want
}

// countPuts closes its channel once n keys were put under prefix.
func countPuts(ctx context.Context, b *testing.B, eps []string, prefix string, n int) <-chan struct{} {
	cli, err := clientv3.New(clientv3.Config{Endpoints: eps})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cli.Close() })
	wch := cli.Watch(ctx, prefix, clientv3.WithPrefix())
	done := make(chan struct{})
	go func() {
		seen := map[string]bool{}
		for resp := range wch {
			for _, ev := range resp.Events {
				seen[string(ev.Kv.Key)] = true
			}
			if len(seen) >= n {
				close(done)
				return
			}
		}
	}()
	return done
}

// rawWrites puts n keys in transactions of perTxn, one after the other.
func rawWrites(ctx context.Context, b *testing.B, eps []string, n, perTxn int) {
	cli, err := clientv3.New(clientv3.Config{Endpoints: eps})
	if err != nil {
		b.Fatal(err)
	}
	defer cli.Close()
	val := `{"hash":"0123456789abcdef0123456789abcdef01234567","desired":"launched"}`
	for i := 0; i < n; i += perTxn {
		ops := make([]clientv3.Op, 0, perTxn)
		for j := i; j < min(i+perTxn, n); j++ {
			ops = append(ops, clientv3.OpPut(fmt.Sprintf("/raw/machine-%04d/unit%05d.service", j%benchMachines, j), val))
		}
		if _, err := cli.Txn(ctx).Then(ops...).Commit(); err != nil {
			b.Fatal(err)
		}
	}
}

// countLost adds one to lost if p's lease is lost while measuring lasts.
func countLost(measuring context.Context, p *registry.Presence, lost *atomic.Int64) {
	go func() {
		select {
		case <-p.Lost():
			if measuring.Err() == nil {
				lost.Add(1)
			}
		case <-measuring.Done():
		}
	}()
}

// peakRSSMiB is the process's peak resident memory (etcd and engine both).
func peakRSSMiB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}
