package ctl

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/flota-dev/flota/registry"
)

// TestDrain: drain stores the drain and, blocking, follows the machine
// until it is empty: here the test plays the engine, moving the unit
// make-before-break, and the agents publish and drop its states.
func TestDrain(t *testing.T) {
	c := newCluster(t)
	p1 := c.register("m1aaaaaaaaaa", "127.0.0.11", nil)
	p2 := c.register("m2bbbbbbbbbb", "127.0.0.12", nil)
	c.startAgent(p1, "m1aaaaaaaaaa", 0)
	c.startAgent(p2, "m2bbbbbbbbbb", 0)
	dir := t.TempDir()
	writeFile(t, dir, "a.service", "[Service]\nExecStart=/bin/true\n")
	c.must("start", "--no-block", dir+"/a.service")
	c.place("a.service", "m1aaaaaaaaaa", "")

	t.Run("bad input", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"drain", "nosuch"}, "Machine nosuch not found"},
			{[]string{"drain", "m"}, "begins the IDs of 2 machines"},
			{[]string{"drain", "--max-parallel=0", "m1"}, "--max-parallel 0"},
			{[]string{"drain", "--deadline=-1s", "m1"}, "--deadline -1s"},
			{[]string{"drain", "--bogus", "m1"}, "unknown flag: --bogus"},
			{[]string{"undrain", "m2"}, "Machine m2bbbbbb.../127.0.0.12 is not being drained"},
		} {
			t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
				if r := c.ctl(tc.args...); r.code == 0 || !strings.Contains(r.errOut, tc.want) {
					t.Fatalf("exit %d, stderr %q, want it to say %q", r.code, r.errOut, tc.want)
				}
			})
		}
	})

	done := make(chan result, 1)
	go func() { done <- c.ctl("drain", "--deadline=1h", "--max-parallel=2", "m1") }()
	var d registry.Drain
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for d.Machine == "" {
		st, err := c.reg.ReadStatus(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if d = st.Drains["m1aaaaaaaaaa"]; d.Machine == "" {
			<-c.reg.WatchStatus(ctx, st.Revision) // drains are under cluster/: the watch sees the drain written
		}
	}
	if d.MaxParallel != 2 || d.Deadline.Sub(d.Since) != time.Hour || d.IncludeGlobal {
		t.Fatalf("stored drain %+v", d)
	}
	c.place("a.service", "m2bbbbbbbbbb", "")             // the new copy...
	c.apply(func(cl *registry.Cluster) registry.Change { // ...then the old one goes
		return registry.Change{Unit: "a.service", Delete: []registry.Placement{cl.Placements["a.service"]["m1aaaaaaaaaa"]}}
	})
	var r result
	select {
	case r = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("drain still waiting once the machine is empty")
	}
	if r.code != 0 || !strings.Contains(r.out, "Draining machine m1aaaaaa.../127.0.0.11\n") || !strings.HasSuffix(r.out, "Machine m1aaaaaa.../127.0.0.11 drained\n") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.out, r.errOut)
	}
	if !strings.Contains(r.out, "units to move 1") {
		t.Errorf("no progress line:\n%s", r.out)
	}
	lm := c.must("list-machines", "--no-legend", "--fields=machine,drain")
	if !strings.Contains(lm.out, "m1aaaaaa...\tdrained\n") || !strings.Contains(lm.out, "m2bbbbbb...\t-\n") {
		t.Errorf("list-machines drain column:\n%s", lm.out)
	}
	c.must("undrain", "m1")
	if st, _ := c.reg.ReadStatus(context.Background()); len(st.Drains) != 0 {
		t.Fatalf("drains after undrain: %+v", st.Drains)
	}
}
