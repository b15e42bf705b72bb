package engine_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flota-dev/flota/clock/clocktest"
	"github.com/flota-dev/flota/engine"
	"github.com/flota-dev/flota/reason"
	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/registry/registrytest"
	"github.com/flota-dev/flota/unit"
)

type cluster struct {
	t   *testing.T
	ctx context.Context
	eps []string
	reg *registry.Registry
	mu  sync.Mutex
	ms  map[string]context.CancelFunc
}

func newCluster(t *testing.T) *cluster {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	eps := registrytest.Etcd(t)
	return &cluster{t: t, ctx: ctx, eps: eps, reg: registrytest.Registry(t, eps), ms: map[string]context.CancelFunc{}}
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// engine starts an Engine on a client of its own; cancel stops it.
func (c *cluster) engine(id string) context.CancelFunc {
	ctx, cancel := context.WithCancel(c.ctx)
	e := engine.New(registrytest.Registry(c.t, c.eps), engine.Config{ID: id, LeaderTTL: time.Second}, quiet())
	done := make(chan struct{})
	go func() { defer close(done); _ = e.Run(ctx) }()
	c.t.Cleanup(func() { cancel(); <-done })
	return cancel
}

// running starts an Engine of the given config on a client of its own and
// returns it; the test's cleanup stops it.
func (c *cluster) running(cfg engine.Config, log *slog.Logger) *engine.Engine {
	ctx, cancel := context.WithCancel(c.ctx)
	e := engine.New(registrytest.Registry(c.t, c.eps), cfg, log)
	done := make(chan struct{})
	go func() { defer close(done); _ = e.Run(ctx) }()
	c.t.Cleanup(func() { cancel(); <-done })
	return e
}

// decided waits until e decided on the cluster as st shows it.
func (c *cluster) decided(e *engine.Engine, st *registry.Status) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
	defer cancel()
	if err := e.WaitDecided(ctx, st.Revision); err != nil {
		c.t.Fatalf("the Engine never decided on revision %d (at %d): %v", st.Revision, e.Decided(), err)
	}
}

// machine registers a machine with a short lease; leave() lets it expire.
func (c *cluster) machine(id string, md map[string]string) {
	ctx, cancel := context.WithCancel(c.ctx)
	if _, err := c.reg.Register(ctx, registry.Machine{ID: id, IP: "127.0.0.1", Metadata: md}, time.Second); err != nil {
		c.t.Fatal(err)
	}
	c.mu.Lock()
	c.ms[id] = cancel
	c.mu.Unlock()
}

func (c *cluster) leave(id string) {
	c.mu.Lock()
	c.ms[id]()
	c.mu.Unlock()
}

func (c *cluster) start(name, text string) {
	f, err := unit.Parse(name, []byte(text))
	if err != nil {
		c.t.Fatal(err)
	}
	if err := c.reg.CreateUnits(c.ctx, []*unit.File{f}, registry.StateLaunched); err != nil {
		c.t.Fatal(err)
	}
}

// eventually waits, following the cluster's watch, until cond holds.
func (c *cluster) eventually(what string, cond func(*registry.Status) bool) *registry.Status {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, 20*time.Second)
	defer cancel()
	for {
		st, err := c.reg.ReadStatus(ctx)
		if err != nil {
			c.t.Fatalf("waiting for %s: %v", what, err)
		}
		if cond(st) {
			return st
		}
		select {
		case <-c.reg.WatchStatus(ctx, st.Revision):
		case <-ctx.Done():
			c.t.Fatalf("timed out waiting for %s; last status: placements %v unplaced %v", what, st.Placements, st.Unplaced)
		}
	}
}

func where(st *registry.Status, u string) []string {
	var out []string
	for _, p := range st.Placements {
		if p.Unit == u {
			out = append(out, p.Machine)
		}
	}
	slices.Sort(out)
	return out
}

const nginx = `[Unit]
Description=My NGinx server

[Service]
ExecStart=/bin/true

[X-Fleet]
MachineMetadata=zone=dmz
Conflicts=nginx@*
`

// The seed's story: three instances on three machines, a fourth that cannot
// be placed and says why, then placed when a fourth machine registers.
func TestSeedConflictsFourthInstance(t *testing.T) {
	c := newCluster(t)
	for i := 1; i <= 3; i++ {
		c.machine(fmt.Sprintf("m%d", i), map[string]string{"zone": "dmz"})
	}
	c.engine("e1")
	for i := 1; i <= 4; i++ {
		c.start(fmt.Sprintf("nginx@%d.service", i), nginx)
	}
	st := c.eventually("3 placed, 1 explained", func(st *registry.Status) bool {
		return len(st.Placements) == 3 && !st.Unplaced["nginx@4.service"].IsZero()
	})
	seen := map[string]bool{}
	for _, p := range st.Placements {
		if seen[p.Machine] {
			t.Fatalf("two instances on %s: %v", p.Machine, st.Placements)
		}
		seen[p.Machine] = true
	}
	want := reason.Unplaced{Code: reason.NoEligible, Filters: []reason.Filter{{Code: reason.Conflicts, Args: []string{"nginx@*"}, Machines: 3}}}
	if got := st.Unplaced["nginx@4.service"]; !got.Equal(want) {
		t.Fatalf("reason %+v, want %+v", got, want)
	}
	c.machine("m4", map[string]string{"zone": "dmz"})
	st = c.eventually("nginx@4 placed on m4", func(st *registry.Status) bool {
		return slices.Equal(where(st, "nginx@4.service"), []string{"m4"})
	})
	if r, ok := st.Unplaced["nginx@4.service"]; ok {
		t.Fatalf("stale reason %q", r)
	}
}

func TestSeedGlobalFollowsMachines(t *testing.T) {
	c := newCluster(t)
	c.machine("m1", map[string]string{"zone": "dmz"})
	c.machine("m2", map[string]string{"zone": "lan"})
	c.engine("e1")
	c.start("proxy.service", "[Service]\nExecStart=/bin/true\n[X-Fleet]\nGlobal=true\nMachineMetadata=zone=dmz\n")
	c.eventually("proxy on m1", func(st *registry.Status) bool {
		return slices.Equal(where(st, "proxy.service"), []string{"m1"})
	})
	c.machine("m3", map[string]string{"zone": "dmz"})
	c.eventually("proxy on m1, m3", func(st *registry.Status) bool {
		return slices.Equal(where(st, "proxy.service"), []string{"m1", "m3"})
	})
	// A machine that left keeps its global placements for GhostGlobals, so
	// that it restarts none of them when it comes back; a new DMZ machine
	// gets the unit meanwhile.
	c.leave("m1")
	c.eventually("m1 gone", func(st *registry.Status) bool {
		return !slices.ContainsFunc(st.Machines, func(m registry.Machine) bool { return m.ID == "m1" })
	})
	c.machine("m4", map[string]string{"zone": "dmz"})
	c.eventually("proxy on m1 (gone), m3, m4", func(st *registry.Status) bool {
		return slices.Equal(where(st, "proxy.service"), []string{"m1", "m3", "m4"})
	})
}

func TestUnitMovesOffDeadMachine(t *testing.T) {
	c := newCluster(t)
	c.machine("m1", nil)
	c.engine("e1")
	c.start("a.service", "[Service]\nExecStart=/bin/true\n")
	c.eventually("a on m1", func(st *registry.Status) bool { return slices.Equal(where(st, "a.service"), []string{"m1"}) })
	c.machine("m2", nil)
	c.leave("m1")
	c.eventually("a on m2", func(st *registry.Status) bool { return slices.Equal(where(st, "a.service"), []string{"m2"}) })
}

func TestDestroyRemovesPlacements(t *testing.T) {
	c := newCluster(t)
	c.machine("m1", nil)
	c.engine("e1")
	c.start("a.service", "[Service]\nExecStart=/bin/true\n")
	c.eventually("a placed", func(st *registry.Status) bool { return len(st.Placements) == 1 })
	if err := c.reg.DestroyUnits(c.ctx, []string{"a.service"}); err != nil {
		t.Fatal(err)
	}
	c.eventually("no placements", func(st *registry.Status) bool { return len(st.Placements) == 0 })
}

// recorder wraps a registry and logs every successful Apply with its
// revision and whether the engine still believed it led.
type recorder struct {
	*registry.Registry
	id  string
	log *writeLog
}

type writeLog struct {
	mu     sync.Mutex
	writes []write
	grew   chan struct{} // closed and replaced at each write
}

type write struct {
	engine string
	rev    int64
}

// Apply logs every Apply that wrote (rev > 0), failed or not: a run of
// transactions that failed part-way may have written its first ones.
func (r recorder) Apply(ctx context.Context, l *registry.Leadership, c *registry.Cluster, ch []registry.Change) (registry.Applied, error) {
	written, err := r.Registry.Apply(ctx, l, c, ch)
	if rev := written.Revision(); rev > 0 {
		r.log.mu.Lock()
		r.log.writes = append(r.log.writes, write{r.id, rev})
		close(r.log.grew)
		r.log.grew = make(chan struct{})
		r.log.mu.Unlock()
	}
	return written, err
}

// waitWrite waits until engine id's write is logged: watchers see a write
// before Apply returns and the recorder logs it.
func (l *writeLog) waitWrite(ctx context.Context, id string) bool {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		l.mu.Lock()
		grew := l.grew
		found := slices.ContainsFunc(l.writes, func(w write) bool { return w.engine == id })
		l.mu.Unlock()
		if found {
			return true
		}
		select {
		case <-grew:
		case <-ctx.Done():
			return false
		}
	}
}

// Two engines never both write: each one's writes form one unbroken run of
// revisions, the first engine's before the second's, and work goes on after
// the leader dies.
func TestTwoEnginesNeverBothWrite(t *testing.T) {
	c := newCluster(t)
	for i := 1; i <= 3; i++ {
		c.machine(fmt.Sprintf("m%d", i), nil)
	}
	log := &writeLog{grew: make(chan struct{})}
	run := func(id string) context.CancelFunc {
		ctx, cancel := context.WithCancel(c.ctx)
		e := engine.New(recorder{registrytest.Registry(t, c.eps), id, log}, engine.Config{ID: id, LeaderTTL: time.Second}, quiet())
		done := make(chan struct{})
		go func() { defer close(done); _ = e.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
		return cancel
	}
	stopA := run("a")
	for who := ""; who != "a"; who, _ = c.reg.Leader(c.ctx) {
		if c.ctx.Err() != nil {
			t.Fatal("engine a never led")
		}
		time.Sleep(20 * time.Millisecond) // the election prefix is not in the status watch
	}
	run("b")
	for i := 0; i < 20; i++ {
		c.start(fmt.Sprintf("u%02d.service", i), "[Service]\nExecStart=/bin/true\n")
	}
	c.eventually("20 placed", func(st *registry.Status) bool { return len(st.Placements) == 20 })
	// Stopped while its Apply still waits on etcd's answers, a's write
	// would be done and not logged: its Apply returned first.
	log.waitWrite(c.ctx, "a")
	stopA()
	for i := 20; i < 40; i++ {
		c.start(fmt.Sprintf("u%02d.service", i), "[Service]\nExecStart=/bin/true\n")
	}
	c.eventually("40 placed", func(st *registry.Status) bool { return len(st.Placements) == 40 })
	log.waitWrite(c.ctx, "b") // else the order below says what wrote

	log.mu.Lock()
	defer log.mu.Unlock()
	slices.SortFunc(log.writes, func(x, y write) int { return int(x.rev - y.rev) })
	var order []string
	for _, w := range log.writes {
		if len(order) == 0 || order[len(order)-1] != w.engine {
			order = append(order, w.engine)
		}
	}
	if !slices.Equal(order, []string{"a", "b"}) {
		t.Fatalf("writes by engine in revision order: %v (want a's, then b's): %v", order, log.writes)
	}
}

// TestNewLeaderHoldsAbsentMachines: an engine that gains leadership while a
// machine holding a unit is missing does not know since when, nor whether
// etcd just revoked every lease: it waits a machine TTL before moving the
// unit, while it places new units at once.
func TestNewLeaderHoldsAbsentMachines(t *testing.T) {
	c := newCluster(t)
	c.machine("m1", nil)
	stop := c.engine("e1")
	c.start("a.service", "[Service]\nExecStart=/bin/true\n")
	c.eventually("a on m1", func(st *registry.Status) bool { return slices.Equal(where(st, "a.service"), []string{"m1"}) })
	stop()
	c.machine("m2", nil)
	c.leave("m1")
	c.eventually("m1 gone", func(st *registry.Status) bool {
		return len(st.Machines) == 1 && st.Machines[0].ID == "m2"
	})

	clock := clocktest.New(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
	ctx, cancel := context.WithCancel(c.ctx)
	e := engine.New(registrytest.Registry(t, c.eps), engine.Config{ID: "e2", LeaderTTL: time.Second, MachineTTL: 5 * time.Second, Clock: clock, Batch: -1}, quiet())
	done := make(chan struct{})
	go func() { defer close(done); _ = e.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	c.start("b.service", "[Service]\nExecStart=/bin/true\n")
	st := c.eventually("b placed by the new leader", func(st *registry.Status) bool { return len(where(st, "b.service")) == 1 })
	if got := where(st, "a.service"); !slices.Equal(got, []string{"m1"}) {
		t.Fatalf("a.service moved to %v before the hold ended", got)
	}
	clock.Advance(4 * time.Second)
	c.start("c.service", "[Service]\nExecStart=/bin/true\n")
	st = c.eventually("c placed", func(st *registry.Status) bool { return len(where(st, "c.service")) == 1 })
	if got := where(st, "a.service"); !slices.Equal(got, []string{"m1"}) {
		t.Fatalf("a.service moved to %v 4 s into a 5 s hold", got)
	}
	clock.Advance(time.Second)
	c.eventually("a on m2 once the hold ended", func(st *registry.Status) bool { return slices.Equal(where(st, "a.service"), []string{"m2"}) })
}

// TestEngineSkipsItsOwnEcho: the Engine's writes come back on its watch;
// a pass of the cluster its last plan left plans nothing, so none is run
// for them. Each unit started is then one pass, not two.
func TestEngineSkipsItsOwnEcho(t *testing.T) {
	c := newCluster(t)
	c.machine("m1", nil)
	e := c.running(engine.Config{ID: "e1", LeaderTTL: time.Second}, quiet())

	// placed waits until name is placed and the Engine decided on the
	// cluster as that write left it: its echo came back, and a pass for it
	// would have run.
	placed := func(name string) {
		c.decided(e, c.eventually(name+" placed", func(st *registry.Status) bool { return len(where(st, name)) == 1 }))
	}
	c.start("a.service", "[Service]\nExecStart=/bin/true\n")
	placed("a.service")
	before := e.Passes()
	for _, name := range []string{"b.service", "c.service"} {
		c.start(name, "[Service]\nExecStart=/bin/true\n")
		placed(name)
	}
	if n := e.Passes() - before; n != 2 {
		t.Fatalf("%d passes for two units started one after the other, want 2 (one each; none for the Engine's own writes)", n)
	}
	// A change of anyone else's to what the Engine wrote is not its echo.
	if err := c.reg.DestroyUnits(c.ctx, []string{"a.service"}); err != nil {
		t.Fatal(err)
	}
	c.eventually("a's placement removed", func(st *registry.Status) bool { return len(where(st, "a.service")) == 0 })
}

// TestEngineIncrementalPasses: once a pass left its State, a pass for units
// started or destroyed decides only those (State.Next), and places them
// as a whole pass would; a machine joining makes the next pass a whole one.
func TestEngineIncrementalPasses(t *testing.T) {
	c := newCluster(t)
	c.machine("m1", nil)
	e := c.running(engine.Config{ID: "e1", LeaderTTL: time.Second}, quiet())
	decided := func(st *registry.Status) { t.Helper(); c.decided(e, st) }
	const web = "[Service]\nExecStart=/bin/true\n[X-Fleet]\nConflicts=web@*\n"
	c.start("web@1.service", web)
	decided(c.eventually("web@1 on m1", func(st *registry.Status) bool { return slices.Equal(where(st, "web@1.service"), []string{"m1"}) }))
	narrowed := e.Narrowed()
	c.start("web@2.service", web) // Conflicts=: nowhere to go
	decided(c.eventually("web@2 unplaced, with its reason", func(st *registry.Status) bool {
		return st.Unplaced["web@2.service"].Code == reason.NoEligible
	}))
	c.start("plain.service", "[Service]\nExecStart=/bin/true\n")
	decided(c.eventually("plain on m1", func(st *registry.Status) bool { return slices.Equal(where(st, "plain.service"), []string{"m1"}) }))
	if n := e.Narrowed() - narrowed; n != 2 {
		t.Fatalf("%d narrowed passes for two units started, want 2", n)
	}
	// A machine joins: a whole pass, which places web@2 there.
	c.machine("m2", nil)
	decided(c.eventually("web@2 on m2", func(st *registry.Status) bool { return slices.Equal(where(st, "web@2.service"), []string{"m2"}) }))
	narrowed = e.Narrowed()
	// web@1 destroyed: a narrowed pass removes its placement.
	if err := c.reg.DestroyUnits(c.ctx, []string{"web@1.service"}); err != nil {
		t.Fatal(err)
	}
	st := c.eventually("web@1's placement removed", func(st *registry.Status) bool { return len(where(st, "web@1.service")) == 0 })
	decided(st)
	c.start("web@3.service", web) // takes m1, which web@1 left
	decided(c.eventually("web@3 on m1", func(st *registry.Status) bool { return slices.Equal(where(st, "web@3.service"), []string{"m1"}) }))
	if n := e.Narrowed() - narrowed; n < 1 {
		t.Fatalf("%d narrowed passes after the machine joined, want at least 1", n)
	}
	// m2 goes: a narrowed pass too. web@2 has nowhere else to go (web@3
	// holds m1), so it stays placed on m2 and says why.
	narrowed = e.Narrowed()
	c.leave("m2")
	decided(c.eventually("web@2 on the gone m2, with its reason", func(st *registry.Status) bool {
		return st.Unplaced["web@2.service"].Code == reason.OnGoneMachine && slices.Equal(where(st, "web@2.service"), []string{"m2"})
	}))
	if n := e.Narrowed() - narrowed; n < 1 {
		t.Fatalf("%d narrowed passes after a machine went, want at least 1", n)
	}
}

// TestStandbyLeadsWarm: a standby Engine follows the cluster while it
// campaigns, and leads from that cache when the leader goes: it places
// what was submitted before and after, without reading the cluster anew.
func TestStandbyLeadsWarm(t *testing.T) {
	c := newCluster(t)
	c.machine("m1", nil)
	stop1 := c.engine("e1")
	c.start("a.service", "[Service]\nExecStart=/bin/true\n")
	c.eventually("a placed", func(st *registry.Status) bool { return len(where(st, "a.service")) == 1 })

	var logs syncBuffer
	c.running(engine.Config{ID: "e2", LeaderTTL: time.Second}, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))

	c.start("b.service", "[Service]\nExecStart=/bin/true\n") // while e2 stands by
	c.eventually("b placed by e1", func(st *registry.Status) bool { return len(where(st, "b.service")) == 1 })
	stop1()
	c.start("c.service", "[Service]\nExecStart=/bin/true\n")
	c.eventually("c placed by e2", func(st *registry.Status) bool { return len(where(st, "c.service")) == 1 })
	out := logs.String()
	if !strings.Contains(out, `msg="engine leads" id=e2 warm=true`) {
		t.Fatalf("e2 did not lead from its warm cache; its log:\n%s", out)
	}
	if strings.Contains(out, `msg="cluster loaded"`) {
		t.Fatalf("e2 read the cluster anew when it began to lead; its log:\n%s", out)
	}
}

// signalLog is a log sink that says when a line holding want was written.
type signalLog struct {
	syncBuffer
	want string
	once sync.Once
	seen chan struct{}
}

func (s *signalLog) Write(p []byte) (int, error) {
	if strings.Contains(string(p), s.want) {
		s.once.Do(func() { close(s.seen) })
	}
	return s.syncBuffer.Write(p)
}

// TestStandbyLeadsSettled: a standby that found the cluster settled once
// it was quiet, a machine gone and its global held there included, keeps
// that run's State and its absences, and its first pass as leader is an
// incremental one.
func TestStandbyLeadsSettled(t *testing.T) {
	c := newCluster(t)
	c.machine("m1", nil)
	stop1 := c.engine("e1")
	c.start("a.service", "[Service]\nExecStart=/bin/true\n")
	c.eventually("a placed", func(st *registry.Status) bool { return len(where(st, "a.service")) == 1 })
	// A machine that went holds its globals for an hour (GhostGlobals):
	// the standby's run must take absences as they are.
	c.machine("m2", nil)
	c.start("g.service", "[Service]\nExecStart=/bin/true\n[X-Fleet]\nGlobal=true\n")
	c.eventually("g on both", func(st *registry.Status) bool { return len(where(st, "g.service")) == 2 })
	c.leave("m2")
	c.eventually("m2 gone, g held there", func(st *registry.Status) bool {
		there := slices.ContainsFunc(st.Machines, func(m registry.Machine) bool { return m.ID == "m2" })
		return !there && len(where(st, "g.service")) == 2
	})

	clock := clocktest.New(time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC))
	logs := &signalLog{want: `msg="standby ran"`, seen: make(chan struct{})}
	armed := clock.Armed()
	e2 := c.running(engine.Config{ID: "e2", LeaderTTL: time.Second, Clock: clock, Batch: -1},
		slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	select {
	case <-armed: // it loaded the cluster and waits for it to be quiet
	case <-c.ctx.Done():
		t.Fatal("the standby never waited for the cluster to be quiet")
	}
	clock.Advance(time.Minute)
	select {
	case <-logs.seen:
	case <-c.ctx.Done():
		t.Fatal("the standby never ran")
	}
	if out := logs.String(); !strings.Contains(out, `msg="standby ran" revision=`) || !strings.Contains(out, "settled=true") {
		t.Fatalf("the standby did not find the cluster settled; its log:\n%s", out)
	}
	stop1()
	c.start("b.service", "[Service]\nExecStart=/bin/true\n")
	c.eventually("b placed by e2", func(st *registry.Status) bool { return len(where(st, "b.service")) == 1 })
	if out := logs.String(); !strings.Contains(out, `msg="engine leads" id=e2 warm=true settled=true`) {
		t.Fatalf("e2 did not lead from its settled run; its log:\n%s", out)
	}
	if e2.Narrowed() < 1 {
		t.Fatalf("e2's passes: %d, none incremental", e2.Passes())
	}
}
