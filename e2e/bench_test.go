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
	c, err := sharedCluster(modePlain)
	if err != nil {
		b.Fatalf("bring the cluster up: %v", err)
	}
	return c
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

// benchCtrUnit is a web server in a container of web:1, on its own port.
const benchCtrUnit = `[Service]
ExecStart=/usr/bin/busybox httpd -f -p 8095 -h /usr/share/www

[X-Container]
Image=web:1
Network=host
`

// BenchmarkStartContainer times a container unit with its image cached
// on the machine: from `flotactl start` to its return (systemd reports
// the unit active: the agent made the task snapshot, wrote the unit and
// systemd-nspawn started), and to the container's web server answering
// over HTTP. A Global unit of the image first makes every machine pull
// it. Median and 90th percentile of 10.
//
//	go test -run=^$ -bench=StartContainer -benchtime=1x ./e2e/
func BenchmarkStartContainer(b *testing.B) {
	c := benchCluster(b)
	c.webImage(b)
	dir := b.TempDir()
	warm := writeUnit(b, dir, "warm-ctr.service", benchCtrUnit+"\n[X-Fleet]\nGlobal=true\n")
	if r := c.ctlB(b, "start", warm); r.code != 0 {
		b.Fatalf("start the warm-up: exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		r := c.ctlB(b, "list-units", "--no-legend", "--fields=unit,active")
		if strings.Count(r.out, "active\n") >= machines {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("warm-up not active on every machine:\n%s", r.out)
		}
	}
	c.ctlB(b, "destroy", "warm-ctr.service")
	b.Logf("warm-up done")
	for range b.N {
		var active, answering []time.Duration
		for i := range 10 {
			name := fmt.Sprintf("ctr%02d.service", i)
			path := writeUnit(b, dir, name, benchCtrUnit)
			start := time.Now()
			r := c.ctlB(b, "start", path)
			active = append(active, time.Since(start))
			if r.code != 0 || !strings.Contains(r.out, "launched on") {
				b.Fatalf("start %s: exit %d\n%s%s", name, r.code, r.out, r.errOut)
			}
			ip := r.out[strings.LastIndex(r.out, "/")+1:]
			url := "http://" + strings.TrimSpace(ip) + ":8095/"
			for get(url) != webPage {
				if time.Since(start) > 30*time.Second {
					b.Fatalf("%s not answering at %s after 30s", name, url)
				}
				time.Sleep(5 * time.Millisecond)
			}
			answering = append(answering, time.Since(start))
			b.Logf("%s: active %v, answering %v", name, active[len(active)-1], answering[len(answering)-1])
			c.ctlB(b, "destroy", name)
			// The next one may land on the same machine and port.
			for get(url) != "" {
				time.Sleep(10 * time.Millisecond)
			}
		}
		slices.Sort(active)
		slices.Sort(answering)
		b.ReportMetric(float64(active[len(active)/2].Microseconds())/1000, "active-median-ms")
		b.ReportMetric(float64(active[len(active)*9/10].Microseconds())/1000, "active-p90-ms")
		b.ReportMetric(float64(answering[len(answering)/2].Microseconds())/1000, "http-median-ms")
	}
}
