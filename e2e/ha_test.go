package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/flota-dev/flota/registry"
)

// The HA cluster: flota-m1..m3 are the control plane (each flotad embeds a
// member of one etcd cluster and runs an engine), flota-m4 and m5 are
// machines that only reach it; every flotad runs an agent.
const haMachines = 5

var haEndpoints = []string{"http://10.77.0.11:2379", "http://10.77.0.12:2379", "http://10.77.0.13:2379"}

func upHA(t *testing.T) *cluster {
	t.Helper()
	requireHarness(t)
	c, err := sharedCluster(modeHA)
	if err != nil {
		t.Fatalf("bring the HA cluster up: %v", err)
	}
	return c
}

// The units of the fault matrix: three that stop on disconnect and must
// never run twice nor share a machine, two that keep, one global.
var (
	haStop   = []string{"ha-web@1.service", "ha-web@2.service", "ha-web@3.service"}
	haKeep   = []string{"ha-app@1.service", "ha-app@2.service"}
	haGlobal = "ha-g.service"
)

func haUnits() []string { return append(append(slices.Clone(haStop), haKeep...), haGlobal) }

// copyOf is one unit's process on one machine, as a sample saw it.
type copyOf struct {
	machine string
	pid     string
}

// watcher samples every machine's systemd for the matrix's units and
// records what must never happen: two copies of a unit that stops on
// disconnect at once, two of the conflicting units on one machine, and (while
// allowed is false for it) two copies of a keep unit.
type watcher struct {
	c     *cluster
	mu    sync.Mutex
	last  map[string][]copyOf // unit -> active copies in the latest sample
	bad   []string
	keep2 bool // two copies of a keep unit are allowed (a partition is on)
	samples
}

func (w *watcher) sample(t *testing.T) {
	args := []string{"systemctl", "show", "--property=Id,ActiveState,MainPID"}
	args = append(args, haUnits()...)
	now := map[string][]copyOf{}
	for i := 1; i <= haMachines; i++ {
		m := fmt.Sprintf("flota-m%d", i)
		out, err := w.c.harness(append([]string{"exec", m}, args...)...)
		if err != nil {
			continue // a killed machine runs nothing
		}
		for _, block := range strings.Split(strings.TrimSpace(out), "\n\n") {
			props := map[string]string{}
			for _, line := range strings.Split(block, "\n") {
				k, v, _ := strings.Cut(line, "=")
				props[k] = v
			}
			if props["ActiveState"] == "active" || props["ActiveState"] == "activating" || props["ActiveState"] == "deactivating" {
				now[props["Id"]] = append(now[props["Id"]], copyOf{m, props["MainPID"]})
			}
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.last = now
	defer w.taken()
	at := time.Now().Format("15:04:05.000")
	for _, u := range haStop {
		if n := len(now[u]); n > 1 {
			w.bad = append(w.bad, fmt.Sprintf("%s: %s runs %d times: %v", at, u, n, now[u]))
		}
	}
	if !w.keep2 {
		for _, u := range haKeep {
			if n := len(now[u]); n > 1 {
				w.bad = append(w.bad, fmt.Sprintf("%s: %s runs %d times: %v", at, u, n, now[u]))
			}
		}
	}
	on := map[string]string{}
	for _, u := range haStop {
		for _, cp := range now[u] {
			if other, ok := on[cp.machine]; ok {
				w.bad = append(w.bad, fmt.Sprintf("%s: %s and %s (Conflicts=ha-web@*) both on %s", at, other, u, cp.machine))
			}
			on[cp.machine] = u
		}
	}
}

// run samples until ctx ends.
func (w *watcher) run(ctx context.Context, t *testing.T) {
	for ctx.Err() == nil {
		w.sample(t)
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// snapshot is the latest sample.
func (w *watcher) snapshot() map[string][]copyOf {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last
}

// settled says whether every non-global unit runs exactly once and the
// global on every live machine.
func settled(s map[string][]copyOf, live int) bool {
	for _, u := range append(slices.Clone(haStop), haKeep...) {
		if len(s[u]) != 1 {
			return false
		}
	}
	return len(s[haGlobal]) == live
}

// TestHAControlPlane runs the fault matrix on a control plane of three
// embedded etcd members: for each fault, no unit is lost, a unit that stops
// on disconnect never runs twice (a keep unit neither, but behind a
// partition, by its choice), no strict rule breaks, and no unit is
// restarted in vain; the time to recover is logged.
func TestHAControlPlane(t *testing.T) {
	c := upHA(t)
	c.destroyAtEnd(t, haUnits()...)
	var files []string
	for _, u := range haStop {
		files = append(files, unitFile(t, u, sleeper+"\n[X-Fleet]\nConflicts=ha-web@*\n"))
	}
	for _, u := range haKeep {
		files = append(files, unitFile(t, u, sleeper))
	}
	files = append(files, unitFile(t, haGlobal, sleeper+"\n[X-Fleet]\nGlobal=true\n"))
	c.must(t, append([]string{"start"}, files...)...)

	w := &watcher{c: c, samples: newSamples()}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.run(ctx, t) }()
	defer func() { cancel(); <-done }()
	waitSettled := func(t *testing.T, what string, live int, limit time.Duration) time.Duration {
		t.Helper()
		t0 := time.Now()
		eventually(t, limit, what, func() (bool, string) {
			s := w.snapshot()
			return settled(s, live), fmt.Sprint(s)
		})
		return time.Since(t0)
	}
	waitSettled(t, "every unit running", haMachines, 60*time.Second)

	reg, err := registry.Connect(registry.Config{Endpoints: c.endpoints})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()

	// killFlotad SIGKILLs flotad on a machine (its etcd member, engine and
	// agent); systemd starts it again (Restart=always). Its units run on.
	killFlotad := func(t *testing.T, m string) {
		t.Helper()
		c.exec(t, m, "systemctl", "kill", "--signal=SIGKILL", "flotad.service")
	}
	// same checks that every unit not on a machine in moved kept its
	// machine and process.
	same := func(t *testing.T, before map[string][]copyOf, moved ...string) {
		t.Helper()
		after := w.snapshot()
		for u, cs := range before {
			if len(cs) != 1 || slices.Contains(moved, cs[0].machine) || u == haGlobal {
				continue
			}
			if len(after[u]) != 1 || after[u][0] != cs[0] {
				t.Errorf("%s was %v, now %v: restarted in vain", u, cs, after[u])
			}
		}
		for _, cp := range before[haGlobal] {
			if !slices.Contains(moved, cp.machine) && !slices.Contains(after[haGlobal], cp) {
				t.Errorf("%s on %s (pid %s) restarted in vain: now %v", haGlobal, cp.machine, cp.pid, after[haGlobal])
			}
		}
	}
	// leaders names the machines of the etcd leader and of the engine
	// leader, "" for one that is not known (an election under way).
	// term is the highest raft term the members report: it grows with
	// every election, so it tells a new leader from the old one come back.
	term := func(t *testing.T) uint64 {
		t.Helper()
		cli, err := clientv3.New(clientv3.Config{Endpoints: c.endpoints, DialTimeout: 3 * time.Second, Logger: zap.NewNop()})
		if err != nil {
			t.Fatal(err)
		}
		defer cli.Close()
		var max uint64
		for _, ep := range c.endpoints {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			st, err := cli.Status(ctx, ep)
			cancel()
			if err == nil && st.RaftTerm > max {
				max = st.RaftTerm
			}
		}
		return max
	}
	leaders := func(t *testing.T) (etcdLeader, engineLeader string) {
		t.Helper()
		cli, err := clientv3.New(clientv3.Config{Endpoints: c.endpoints, DialTimeout: 3 * time.Second, Logger: zap.NewNop()})
		if err != nil {
			t.Fatal(err)
		}
		defer cli.Close()
		for i, ep := range c.endpoints {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			st, err := cli.Status(ctx, ep)
			cancel()
			if err == nil && st.Leader == st.Header.MemberId {
				etcdLeader = fmt.Sprintf("flota-m%d", i+1)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		id, _ := reg.Leader(ctx)
		ms, _ := reg.Machines(ctx)
		for _, m := range ms {
			if m.ID == id {
				engineLeader = c.machineName(t, m.IP)
			}
		}
		return etcdLeader, engineLeader
	}
	leaderOf := func(t *testing.T) (etcdLeader, engineLeader string) {
		t.Helper()
		eventually(t, 20*time.Second, "an etcd leader and an engine leader", func() (bool, string) {
			etcdLeader, engineLeader = leaders(t)
			return etcdLeader != "" && engineLeader != "", etcdLeader + " " + engineLeader
		})
		return etcdLeader, engineLeader
	}
	flotadBack := func(t *testing.T, m string) {
		t.Helper()
		eventually(t, 30*time.Second, "flotad active again on "+m, func() (bool, string) {
			out, _ := c.harness("exec", m, "systemctl", "is-active", "flotad.service")
			return strings.TrimSpace(out) == "active", out
		})
	}
	check := func(t *testing.T) {
		t.Helper()
		w.mu.Lock()
		bad := w.bad
		w.bad = nil
		w.mu.Unlock()
		for _, b := range bad {
			t.Error(b)
		}
	}

	t.Run("an etcd member killed", func(t *testing.T) {
		el, gl := leaderOf(t)
		var m string
		for i := 1; i <= 3 && m == ""; i++ {
			if n := fmt.Sprintf("flota-m%d", i); n != el && n != gl {
				m = n
			}
		}
		before := w.snapshot()
		killFlotad(t, m)
		flotadBack(t, m)
		took := waitSettled(t, "every unit running", haMachines, 30*time.Second)
		w.await(t, 10) // about 3 s of samples
		same(t, before)
		check(t)
		t.Logf("etcd member on %s killed: settled %v after flotad was back", m, took.Round(100*time.Millisecond))
	})
	for _, tc := range []struct {
		name, what string
		leader     func(etcd, engine string) string
		elected    bool // a new election may pick the killed member again, once flotad restarts: count terms
	}{
		{"the etcd leader killed", "a newly elected etcd leader", func(etcd, _ string) string { return etcd }, true},
		{"the engine leader killed", "another engine", func(_, engine string) string { return engine }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.leader(leaderOf(t))
			before := w.snapshot()
			term0 := term(t)
			t0 := time.Now()
			killFlotad(t, m)
			eventually(t, 20*time.Second, tc.what+" leads", func() (bool, string) {
				n := tc.leader(leaders(t))
				if tc.elected {
					return n != "" && term(t) > term0, n
				}
				return n != "" && n != m, n
			})
			took := time.Since(t0)
			flotadBack(t, m)
			waitSettled(t, "every unit running", haMachines, 30*time.Second)
			w.await(t, 10) // about 3 s of samples
			same(t, before)
			check(t)
			t.Logf("%s on %s: %s leads after %v", tc.name, m, tc.what, took.Round(100*time.Millisecond))
		})
	}
	partition := func(t *testing.T, m string) {
		t.Helper()
		before := w.snapshot()
		w.mu.Lock()
		w.keep2 = true
		w.mu.Unlock()
		t.Cleanup(func() { c.harness("mend", m) })
		t0 := time.Now()
		if _, err := c.harness("cut", m); err != nil {
			t.Fatal(err)
		}
		// The rest of the cluster runs every unit without m's copies.
		eventually(t, leaseTTL+25*time.Second, "every unit running off "+m, func() (bool, string) {
			s := w.snapshot()
			for _, u := range append(slices.Clone(haStop), haKeep...) {
				if !slices.ContainsFunc(s[u], func(cp copyOf) bool { return cp.machine != m }) {
					return false, fmt.Sprint(s)
				}
			}
			return true, ""
		})
		moved := time.Since(t0)
		time.Sleep(max(0, 15*time.Second-time.Since(t0))) // the partition's length is the point here
		mended := time.Now()
		if _, err := c.harness("mend", m); err != nil {
			t.Fatal(err)
		}
		ip, _ := c.harness("ip", m)
		ip = strings.TrimSpace(ip)
		eventually(t, 30*time.Second, m+" registered again", func() (bool, string) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			ms, _ := reg.Machines(ctx)
			return slices.ContainsFunc(ms, func(mm registry.Machine) bool { return mm.IP == ip }), ""
		})
		back := time.Since(mended)
		if back > 5*time.Second {
			t.Errorf("%s registered again %v after the link came back, want a few seconds", m, back.Round(100*time.Millisecond))
		}
		took := waitSettled(t, "every unit running once, the global on every machine", haMachines, 30*time.Second)
		w.mu.Lock()
		w.keep2 = false
		w.mu.Unlock()
		w.await(t, 10) // about 3 s of samples
		same(t, before, m)
		check(t)
		t.Logf("%s cut for %v: its units ran elsewhere after %v; after the link came back it was registered again in %v, and all settled %v later",
			m, mended.Sub(t0).Round(100*time.Millisecond), moved.Round(100*time.Millisecond), back.Round(100*time.Millisecond), took.Round(100*time.Millisecond))
	}
	t.Run("a control-plane member partitioned", func(t *testing.T) {
		// The one running the most units of the matrix.
		s := w.snapshot()
		count := map[string]int{}
		for _, u := range append(slices.Clone(haStop), haKeep...) {
			for _, cp := range s[u] {
				count[cp.machine]++
			}
		}
		m := "flota-m1"
		for i := 1; i <= 3; i++ {
			if n := fmt.Sprintf("flota-m%d", i); count[n] > count[m] {
				m = n
			}
		}
		partition(t, m)
	})
	t.Run("a machine partitioned", func(t *testing.T) {
		partition(t, "flota-m4")
	})
	t.Run("a machine killed", func(t *testing.T) {
		before := w.snapshot()
		t.Cleanup(func() { c.harness("start", "flota-m5") })
		if _, err := c.harness("kill", "flota-m5"); err != nil {
			t.Fatal(err)
		}
		took := waitSettled(t, "every unit running on the four left", haMachines-1, leaseTTL+25*time.Second)
		same(t, before, "flota-m5")
		if _, err := c.harness("start", "flota-m5"); err != nil {
			t.Fatal(err)
		}
		waitSettled(t, "the global back on flota-m5", haMachines, 60*time.Second)
		w.await(t, 10) // about 3 s of samples
		same(t, before, "flota-m5")
		check(t)
		t.Logf("flota-m5 killed: every unit running on the others %v after the crash", took.Round(100*time.Millisecond))
	})
}
