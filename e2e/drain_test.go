package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestDrain drains flota-m2 of three units and a fourth with nowhere else
// to go, on the plain cluster, while a sampler reads every machine's systemd:
//   - dr1 and dr2 (they may run twice) move make-before-break: no sample
//     ever sees them run nowhere;
//   - drc@1 (Conflicts=drc@*: it stops on disconnect, so it may not run
//     twice) moves break-before-make: no sample sees two copies;
//   - drs, which only flota-m2 takes, keeps running with its reason until
//     the deadline, then stops.
//
// The units are made to start on flota-m2 by draining the two others first.
func TestDrain(t *testing.T) {
	c := up(t)
	moving := []string{"dr1.service", "dr2.service", "drc@1.service"}
	units := append(slices.Clone(moving), "drs.service")
	c.destroyAtEnd(t, append(units, "drc@.service")...)
	ids := c.machineIDs(t)
	for _, m := range []string{"flota-m1", "flota-m3"} {
		c.must(t, "drain", "--no-block", ids[m])
	}
	t.Cleanup(func() {
		for _, m := range []string{"flota-m1", "flota-m2", "flota-m3"} {
			c.ctl(t, 10*time.Second, "undrain", ids[m]) // shared cluster: leave it undrained
		}
	})
	c.must(t, "submit", unitFile(t, "dr1.service", sleeper), unitFile(t, "dr2.service", sleeper),
		unitFile(t, "drc@.service", sleeper+"\n[X-Fleet]\nConflicts=drc@*\n"),
		unitFile(t, "drs.service", sleeper+"\n[X-Fleet]\nMachineMetadata=rack=r2\n"))
	c.must(t, "start", "dr1", "dr2", "drc@1", "drs")
	for _, u := range units {
		if m := c.activeName(t, u, 20*time.Second); m != "flota-m2" {
			t.Fatalf("%s on %s, want flota-m2 (the others are draining)", u, m)
		}
	}
	c.must(t, "undrain", ids["flota-m1"])
	c.must(t, "undrain", ids["flota-m3"])

	s := newSampler(c, units, []string{"dr1.service", "dr2.service"}, []string{"drc@1.service"})
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); s.run(ctx) }()
	defer func() { stop(); wg.Wait() }()
	s.await(t, 2)

	start := time.Now()
	r := c.ctl(t, 2*time.Minute, "drain", "--deadline=25s", "--max-parallel=2", ids["flota-m2"])
	took := time.Since(start)
	if r.code != 0 || !strings.Contains(r.out, "drained") {
		t.Fatalf("drain: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.out, r.errOut)
	}
	if !strings.Contains(r.errOut, "Unit drs.service stays on the machine being drained, as nothing else takes it") {
		t.Errorf("the unit with nowhere to go was not named:\n%s", r.errOut)
	}
	if took < 20*time.Second {
		t.Errorf("drained in %s, before the deadline, though drs had nowhere to go", took)
	}
	s.await(t, 2)
	t.Logf("drained in %s:\n%s", took.Round(100*time.Millisecond), r.out)
	last := s.snapshot()
	for _, u := range moving {
		if len(last[u]) != 1 || last[u][0] == "flota-m2" {
			t.Errorf("%s runs on %v after the drain, want once, off flota-m2", u, last[u])
		}
	}
	if len(last["drs.service"]) != 0 {
		t.Errorf("drs runs on %v past the deadline", last["drs.service"])
	}
	if line := c.reasonLine(t, "drs.service"); !strings.Contains(line, "draining filtered 1 machine") {
		t.Errorf("drs reason %q", line)
	}
	// The verdict is systemd's own timestamps: the sampler reads the
	// machines one after the other, so a handover between two reads looks
	// like a unit running nowhere (or twice) when it did not.
	stopping, err := c.handoverGaps(moving, "flota-m2", "Stopping ")
	if err != nil {
		t.Fatal(err)
	}
	stopped, err := c.handoverGaps(moving, "flota-m2", "Stopped ")
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"dr1.service", "dr2.service"} {
		if g, ok := stopping[u]; !ok || g > 0 {
			t.Errorf("%s (make-before-break): new copy up %v after the old one began to stop (found %v)", u, g, ok)
		}
	}
	if g, ok := stopped["drc@1.service"]; !ok || g <= 0 {
		t.Errorf("drc@1 (break-before-make): new copy up %v after the old one stopped (found %v): they overlapped", g, ok)
	}
	t.Logf("handovers, new copy up after the old one began to stop: %v; after it stopped: %v", stopping, stopped)
	for _, p := range s.problems() {
		t.Logf("sampled (machines read one after the other): %s", p)
	}
}

// sampler reads every plain machine's systemd for units, and records
// make-before-break units running nowhere and break-before-make ones
// running twice.
type sampler struct {
	c        *cluster
	units    []string // every unit sampled
	mbb, bbm []string // the units that must never run nowhere, and never twice
	mu       sync.Mutex
	last     map[string][]string  // unit -> machines it is active on
	seen     map[string]bool      // units seen active at least once
	nowhere  map[string]time.Time // mbb unit -> since when no sample saw it run
	longest  time.Duration        // the longest an mbb unit was seen running nowhere
	bad      []string
	samples
}

func newSampler(c *cluster, units, mbb, bbm []string) *sampler {
	return &sampler{c: c, units: units, mbb: mbb, bbm: bbm,
		samples: newSamples(), seen: map[string]bool{}, nowhere: map[string]time.Time{}}
}

func (s *sampler) run(ctx context.Context) {
	for ctx.Err() == nil {
		now := map[string][]string{}
		for i := 1; i <= 3; i++ {
			m := fmt.Sprintf("flota-m%d", i)
			out, err := s.c.harness(append([]string{"exec", m, "systemctl", "show", "--property=Id,ActiveState"}, s.units...)...)
			if err != nil {
				continue
			}
			for _, block := range strings.Split(strings.TrimSpace(out), "\n\n") {
				props := map[string]string{}
				for _, line := range strings.Split(block, "\n") {
					k, v, _ := strings.Cut(line, "=")
					props[k] = v
				}
				if a := props["ActiveState"]; a == "active" || a == "deactivating" {
					now[props["Id"]] = append(now[props["Id"]], m)
				}
			}
		}
		s.record(now)
	}
}

func (s *sampler) record(now map[string][]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := time.Now()
	at := t.Format("15:04:05.000")
	for _, u := range s.mbb {
		switch since, gap := s.nowhere[u]; {
		case len(now[u]) == 0 && s.seen[u]:
			s.bad = append(s.bad, fmt.Sprintf("%s: %s (make-before-break) runs nowhere", at, u))
			if !gap {
				s.nowhere[u] = t
			}
		case gap:
			s.longest = max(s.longest, t.Sub(since))
			delete(s.nowhere, u)
		}
	}
	for _, u := range s.bbm {
		if n := len(now[u]); n > 1 {
			s.bad = append(s.bad, fmt.Sprintf("%s: %s (break-before-make) runs %d times: %v", at, u, n, now[u]))
		}
	}
	for u, ms := range now {
		if len(ms) > 0 {
			s.seen[u] = true
		}
	}
	s.last = now
	defer s.taken()
}

func (s *sampler) snapshot() map[string][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

func (s *sampler) problems() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.bad)
}

// machineIDs maps the plain machines' harness names to their machine IDs.
func (c *cluster) machineIDs(t *testing.T) map[string]string {
	t.Helper()
	ids := map[string]string{}
	for i := 1; i <= 3; i++ {
		m := fmt.Sprintf("flota-m%d", i)
		ids[m] = c.exec(t, m, "cat", "/etc/machine-id")
	}
	return ids
}
