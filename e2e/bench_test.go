package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// benchCluster is up for benchmarks.
func benchCluster(b *testing.B) *cluster {
	b.Helper()
	if why := missing(); why != "" {
		b.Skipf("needs the harness cluster: %s", why)
	}
	sharedOnce.Do(func() { shared, sharedErr = bringUp() })
	if sharedErr != nil {
		b.Fatalf("bring the cluster up: %v", sharedErr)
	}
	return shared
}

// BenchmarkStartOne times `flotactl start` of one unit, from the command
// to its return, which is when systemd on the chosen machine reports the
// unit ACTIVE=active: submit, placement by the engine, the agent's write,
// reload and start, the state's way back. Median and 90th percentile of 20.
//
//	go test -run=^$ -bench=StartOne -benchtime=1x ./e2e/
func BenchmarkStartOne(b *testing.B) {
	c := benchCluster(b)
	dir := b.TempDir()
	for range b.N {
		var took []time.Duration
		for i := range 20 {
			name := fmt.Sprintf("one%02d.service", i)
			path := writeUnit(b, dir, name, sleeperUnit)
			start := time.Now()
			r := c.ctlB(b, "start", path)
			took = append(took, time.Since(start))
			if r.code != 0 || !strings.Contains(r.out, "launched on") {
				b.Fatalf("start %s: exit %d\n%s%s", name, r.code, r.out, r.errOut)
			}
			c.ctlB(b, "destroy", name)
		}
		slices.Sort(took)
		b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "median-ms")
		b.ReportMetric(float64(took[len(took)*9/10].Microseconds())/1000, "p90-ms")
	}
}

// BenchmarkStart50 times one `flotactl start` of 50 units, until all 50
// are active on their machines.
//
//	go test -run=^$ -bench=Start50 -benchtime=1x ./e2e/
func BenchmarkStart50(b *testing.B) {
	c := benchCluster(b)
	dir := b.TempDir()
	var paths, names []string
	for i := range 50 {
		name := fmt.Sprintf("fifty%02d.service", i)
		names = append(names, name)
		paths = append(paths, writeUnit(b, dir, name, sleeperUnit))
	}
	for range b.N {
		start := time.Now()
		r := c.ctlB(b, append([]string{"start"}, paths...)...)
		took := time.Since(start)
		if r.code != 0 || strings.Count(r.out, "launched on") != 50 {
			b.Fatalf("start 50: exit %d\n%s%s", r.code, r.out, r.errOut)
		}
		b.ReportMetric(float64(took.Microseconds())/1000, "ms-to-all-active")
		c.ctlB(b, append([]string{"destroy"}, names...)...)
	}
}

const sleeperUnit = "[Service]\nExecStart=/bin/sleep infinity\n"
