package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// BenchmarkDrain50 drains flota-m2 of 50 units that may run twice (so
// every one moves make-before-break), 10 at a time, onto flota-m1 and
// flota-m3, while a sampler reads every machine's systemd: the time from
// `flotactl drain` to its "drained", and how often, and for how long at
// most, a sample saw a unit run nowhere (the aim is never).
//
//	go test -run=^$ -bench=Drain50 -benchtime=1x ./e2e/
func BenchmarkDrain50(b *testing.B) {
	c := benchCluster(b)
	dir := b.TempDir()
	var paths, names []string
	for i := range 50 {
		name := fmt.Sprintf("drn%02d.service", i)
		names = append(names, name)
		paths = append(paths, writeUnit(b, dir, name, sleeperUnit))
	}
	ids := map[string]string{}
	for i := 1; i <= 3; i++ {
		m := fmt.Sprintf("flota-m%d", i)
		out, err := c.harness("exec", m, "cat", "/etc/machine-id")
		if err != nil {
			b.Fatal(err)
		}
		ids[m] = strings.TrimSpace(out)
	}
	undrainAll := func() {
		for _, id := range ids {
			c.ctlB(b, "undrain", id)
		}
	}
	defer undrainAll()
	for range b.N {
		c.ctlB(b, "drain", "--no-block", ids["flota-m1"])
		c.ctlB(b, "drain", "--no-block", ids["flota-m3"])
		if r := c.ctlB(b, append([]string{"start"}, paths...)...); r.code != 0 || strings.Count(r.out, "launched on") != 50 {
			b.Fatalf("start 50: exit %d\n%s%s", r.code, r.out, r.errOut)
		}
		c.ctlB(b, "undrain", ids["flota-m1"])
		c.ctlB(b, "undrain", ids["flota-m3"])

		s := newSampler(c, names, names, nil)
		ctx, stop := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); s.run(ctx) }()
		s.await(b, 2)
		start := time.Now()
		r := c.ctlB(b, "drain", "--max-parallel=10", ids["flota-m2"])
		took := time.Since(start)
		s.await(b, 2)
		stop()
		wg.Wait()
		if r.code != 0 || !strings.Contains(r.out, "drained") {
			b.Fatalf("drain: exit %d\n%s%s", r.code, r.out, r.errOut)
		}
		gaps, err := c.handoverGaps(names, "flota-m2", "Stopping ")
		if err != nil {
			b.Fatal(err)
		}
		gap := time.Duration(math.MinInt64)
		for _, g := range gaps {
			gap = max(gap, g)
		}
		b.ReportMetric(float64(took.Milliseconds()), "ms-to-drained")
		b.ReportMetric(float64(gap.Microseconds())/1000, "longest-gap-ms")
		b.ReportMetric(float64(len(s.problems())), "samples-running-nowhere")
		c.ctlB(b, "undrain", ids["flota-m2"])
		c.ctlB(b, append([]string{"destroy"}, names...)...)
	}
}

// handoverGaps is, for each unit that left machine from and is active on
// another, the time from its old copy's journal entry that begins with
// event in from's journal ("Stopping " as its stop begins, "Stopped " once
// it is down) to the new copy becoming active
// (ActiveEnterTimestampMonotonic where it runs now): negative when the new
// copy was up first. The machines share the host's kernel, so their
// monotonic clocks are one clock: this measures what sampling cannot, as
// samples of several machines are never taken at one instant.
func (c *cluster) handoverGaps(units []string, from, event string) (map[string]time.Duration, error) {
	out, err := c.harness(append([]string{"exec", from, "journalctl", "-o", "json", "--no-pager"}, unitFlags(units)...)...)
	if err != nil {
		return nil, err
	}
	stopping := map[string]int64{} // unit -> µs
	for _, line := range strings.Split(out, "\n") {
		var e struct {
			Unit string `json:"UNIT"`
			Msg  string `json:"MESSAGE"`
			Mono string `json:"__MONOTONIC_TIMESTAMP"`
		}
		if json.Unmarshal([]byte(line), &e) != nil || !strings.HasPrefix(e.Msg, event) {
			continue
		}
		if us, err := strconv.ParseInt(e.Mono, 10, 64); err == nil {
			stopping[e.Unit] = us
		}
	}
	gaps := map[string]time.Duration{}
	for i := 1; i <= 3; i++ {
		m := fmt.Sprintf("flota-m%d", i)
		if m == from {
			continue
		}
		out, err := c.harness(append([]string{"exec", m, "systemctl", "show", "--property=Id,ActiveState,ActiveEnterTimestampMonotonic"}, units...)...)
		if err != nil {
			return nil, err
		}
		for _, block := range strings.Split(strings.TrimSpace(out), "\n\n") {
			props := map[string]string{}
			for _, l := range strings.Split(block, "\n") {
				k, v, _ := strings.Cut(l, "=")
				props[k] = v
			}
			stop, ok := stopping[props["Id"]]
			if props["ActiveState"] != "active" || !ok {
				continue
			}
			up, err := strconv.ParseInt(props["ActiveEnterTimestampMonotonic"], 10, 64)
			if err != nil {
				continue
			}
			gaps[props["Id"]] = time.Duration(up-stop) * time.Microsecond
		}
	}
	if len(gaps) == 0 {
		return nil, fmt.Errorf("no unit that left %s was found active elsewhere", from)
	}
	return gaps, nil
}

func unitFlags(units []string) []string {
	var out []string
	for _, u := range units {
		out = append(out, "-u", u)
	}
	return out
}
