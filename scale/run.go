package scale

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"syscall"
	"time"

	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/sim"
	"github.com/flota-dev/flota/unit"
)

// run is one scale run: it sets the cluster up, goes through the phases
// and prints the table.
func run(ctx context.Context, o options, out io.Writer, log *slog.Logger) (err error) {
	flotad, err := filepath.Abs(filepath.Join(o.bin, "flotad"))
	if err != nil {
		return err
	}
	if _, err := os.Stat(flotad); err != nil {
		return fmt.Errorf("%w (make build)", err)
	}
	work, err := os.MkdirTemp("", "flota-scale-")
	if err != nil {
		return err
	}
	if o.keep {
		log.Info("work directory kept", "dir", work)
	} else {
		defer os.RemoveAll(work)
	}
	t := &table{}

	// etcd: a flotad that runs only its embedded member, fsync on.
	taken := map[int]bool{}
	cport, err := freePort(taken)
	if err != nil {
		return err
	}
	pport, err := freePort(taken)
	if err != nil {
		return err
	}
	endpoint := fmt.Sprintf("http://127.0.0.1:%d", cport)
	etcd, err := startProc("etcd", filepath.Join(work, "etcd.log"), flotad, "--machine-id=scale-etcd", "--engine=false", "--agent=false",
		"--data-dir="+filepath.Join(work, "etcd"), "--listen-client-urls="+endpoint,
		fmt.Sprintf("--listen-peer-urls=http://127.0.0.1:%d", pport), "--agent-api=off", "--log-level=warn")
	if err != nil {
		return err
	}
	defer etcd.stop()
	if o.etcdNice != 0 {
		// On this one box etcd shares the cores with thousands of machines
		// that a real cluster runs on machines of their own. (etcd's tuning
		// guide puts etcd ahead of its neighbours for the disk, ionice;
		// here the CPU is what is short.)
		if err := syscall.Setpriority(syscall.PRIO_PROCESS, etcd.pid(), o.etcdNice); err != nil {
			log.Warn("etcd keeps its priority", "nice", o.etcdNice, "err", err)
		}
	}
	reg, err := registry.Connect(registry.Config{Endpoints: []string{endpoint}})
	if err != nil {
		return err
	}
	defer reg.Close()
	if err := waitFor(ctx, "etcd", func() bool {
		sctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		_, err := reg.DBSize(sctx, endpoint)
		return err == nil
	}); err != nil {
		return err
	}
	obs := newObserver()
	octx, stopObserving := context.WithCancel(ctx)
	defer stopObserving()
	go obs.run(octx, reg)

	// The engines, apart, each with its own debug log of passes.
	engines := map[string]*proc{}
	for i := range o.engines {
		id := fmt.Sprintf("scale-engine-%d", i+1)
		p, err := startProc(id, filepath.Join(work, id+".log"), flotad, "--machine-id="+id, "--etcd-endpoints="+endpoint,
			"--agent=false", "--agent-api=off", "--log-level=debug", "--machine-ttl="+o.machineTTL.String())
		if err != nil {
			return err
		}
		defer p.stop()
		engines[id] = p
		if i == 0 { // the first leads, the others stand by
			if err := waitFor(ctx, "the first engine to lead", func() bool {
				l, err := reg.Leader(ctx)
				return err == nil && l == id
			}); err != nil {
				return err
			}
		}
	}

	// The simulated machines, in flota-sim processes of their own, each a
	// share. Their warnings go to files of the work directory (sim-N.log):
	// in a run that goes wrong, thousands of agents say so each.
	metadata := sim.Metadata(o.zones, o.racks, nil)
	t0 := time.Now()
	fleet, err := startFleet(ctx, o, o.bin, endpoint, work)
	if err != nil {
		return err
	}
	defer fleet.stop()
	// A run that stops half way still says what it saw of the machines.
	defer func() {
		if err != nil {
			t.add("run stopped", "", "%v", err)
			health(ctx, t, fleet, obs)
			t.print(out, o)
		}
	}()
	t.add("machines registered", fmt.Sprintf("%d in %v", o.machines, since(t0)), "one lease, one watch each; %d flota-sim processes one after the other, %d shared etcd clients each",
		len(fleet.procs), o.clients)

	// Submit the mix, and wait for it all to be placed, then active.
	m, err := newMix(o.machines, o.units, o.zones, o.racks, o.unplaceable, metadata)
	if err != nil {
		return err
	}
	log.Info("submitting", "units", len(m.files), "placements", m.placements, "unplaceable", m.unplaced)
	tSubmit := time.Now()
	cpu0 := cpuOf(etcd, engines, fleet)
	if err := submit(ctx, reg, m.files, o.batch, o.submitters); err != nil {
		return err
	}
	submitted := since(tSubmit)
	if err := obs.wait(ctx, o.phase, func(o *observer) bool { return o.placed >= m.placements }); err != nil {
		return fmt.Errorf("waiting for %d placements (%d so far): %w", m.placements, obs.counts().placed, err)
	}
	placed := since(tSubmit)
	if err := obs.wait(ctx, o.phase, func(o *observer) bool { return o.nLaunch >= m.placements }); err != nil {
		return fmt.Errorf("waiting for %d units active (%d so far): %w", m.placements, obs.counts().launched, err)
	}
	active := since(tSubmit)
	cpu := cpuOf(etcd, engines, fleet).since(cpu0, active)
	if err := obs.wait(ctx, o.phase, func(o *observer) bool { return len(o.unplaced) >= m.unplaced }); err != nil {
		return fmt.Errorf("waiting for %d unplaced reasons (%d so far): %w", m.unplaced, obs.counts().unplaced, err)
	}
	explained := since(tSubmit)
	t.add("units submitted", fmt.Sprintf("%d in %v", len(m.files), submitted), "%d placements to make, %d units unplaceable; %d per submit call, %d submitters at once", m.placements, m.unplaced, o.batch, o.submitters)
	t.add("submit → all placed", placed.String(), "%.0f placements/s", float64(m.placements)/placed.Seconds())
	t.add("submit → all active", active.String(), "%.0f units/s reported active (start delay %v)", float64(m.placements)/active.Seconds(), o.startDelay)
	t.add("submit → every unplaceable unit has its reason", explained.String(), "")
	t.add("CPU, submit → all active", fmt.Sprintf("%.0f%% of the box's %d cores", cpu.total, goruntime.NumCPU()),
		"simulated machines %.0f%% of a core, this driver (its watch, the submit) %.0f%%, etcd %.0f%%, engines %.0f%%", cpu.sims, cpu.self, cpu.etcd, cpu.engines)

	// A one-unit change once all is settled.
	probe, err := unit.Parse("probe.service", []byte("[Service]\nExecStart=/bin/probe\n"))
	if err != nil {
		return err
	}
	before := obs.counts()
	tProbe := time.Now()
	if err := reg.CreateUnits(ctx, []*unit.File{probe}, registry.StateLaunched); err != nil {
		return err
	}
	if err := obs.wait(ctx, o.phase, func(o *observer) bool { return o.nLaunch > before.launched }); err != nil {
		return fmt.Errorf("waiting for probe.service: %w", err)
	}
	t.add("one unit: submit → active", since(tProbe).String(), "")

	// Idle: nothing changes; what do the machines, etcd and the engine cost?
	const idle = 5 * time.Second
	idle0 := cpuOf(etcd, engines, fleet)
	select {
	case <-time.After(idle):
	case <-ctx.Done():
		return ctx.Err()
	}
	idleCPU := cpuOf(etcd, engines, fleet).since(idle0, idle)
	t.add("idle CPU: the simulated machines' processes", fmt.Sprintf("%.1f%% of a core", idleCPU.sims),
		"%.4f%% a machine (leases kept alive, watches open; over %v)", idleCPU.sims/float64(o.machines), idle)
	t.add("idle CPU: etcd", fmt.Sprintf("%.1f%% of a core", idleCPU.etcd), "%d leases renewed every %v", o.machines, o.machineTTL/3)

	dbSettled := dbSize(ctx, reg, endpoint)
	etcdRSS, _ := etcd.rss()
	leader, _ := reg.Leader(ctx)
	engineRSS, enginePeak := 0.0, 0.0
	if p := engines[leader]; p != nil {
		engineRSS, enginePeak = p.rss()
	}

	// Machines die: how long until their units run elsewhere, and what
	// it cost in keys.
	log.Info("killing machines", "percent", o.kill)
	tKill, tGone, tMoved, moved, written, err := killMachines(ctx, o, fleet, obs)
	if err != nil {
		return err
	}
	perMove := func(kinds ...string) float64 {
		n := 0
		for _, k := range kinds {
			n += written[k]
		}
		return float64(n) / float64(max(moved, 1))
	}
	t.add(fmt.Sprintf("%.0f%% of machines killed → their records gone", o.kill), tGone.Sub(tKill).Round(time.Millisecond).String(), "the lease TTL is %v", o.machineTTL)
	t.add("… → their units placed elsewhere", tMoved.Sub(tKill).Round(time.Millisecond).String(), "%d units moved", moved)
	t.add("cluster keys written per moved unit", fmt.Sprintf("%.2f", perMove("placements", "unplaced", "notes", "moves", "units")),
		"placements %.2f, unplaced reasons %.2f, notes %.2f, moves %.2f; until 1 s after the last move",
		perMove("placements"), perMove("unplaced"), perMove("notes"), perMove("moves"))
	t.add("state keys written per moved unit", fmt.Sprintf("%.2f", perMove("states")), "the agents' published states, and the dead machines' expiring with their leases")

	// Failover: SIGKILL the leading engine by its PID.
	var tFailover, tLed, tFailed time.Time
	if o.engines > 1 {
		log.Info("killing the leading engine")
		tFailover, tLed, tFailed, err = failover(ctx, o, reg, engines, obs)
		if err != nil {
			return err
		}
		t.add("engine SIGKILLed → another leads", tLed.Sub(tFailover).Round(time.Millisecond).String(), "engine lease %v (the default)", 5*time.Second)
		t.add("engine SIGKILLed → new leader placed new units", tFailed.Sub(tFailover).Round(time.Millisecond).String(), "%d units submitted right after the kill", o.failover)
	}

	// What the machines lost while alive, and the engine's passes.
	health(ctx, t, fleet, obs)
	t.add("etcd DB size, settled / at the end", fmt.Sprintf("%.1f / %.1f MiB", dbSettled, dbSize(ctx, reg, endpoint)), "")
	t.add("etcd RSS, settled", fmt.Sprintf("%.0f MiB", etcdRSS), "")
	t.add("engine RSS, settled (peak)", fmt.Sprintf("%.0f MiB (%.0f)", engineRSS, enginePeak), "the leader, %s", leader)
	if !tFailed.IsZero() {
		select { // the new leader's last pass is logged
		case <-time.After(time.Until(tFailed.Add(time.Second))):
		case <-ctx.Done():
		}
	}
	var passes []pass
	for _, p := range engines {
		passes = append(passes, readPasses(p.log)...)
	}
	for _, w := range []struct {
		what     string
		from, to time.Time
	}{
		// Each window runs to the next phase: an engine logs a pass once
		// its writes are done, after the observer saw them.
		{"engine passes: submit → settled", tSubmit, tProbe},
		{"engine passes: one-unit change", tProbe, tKill},
		{"engine passes: machines killed → moved", tKill, tMoved.Add(time.Second)},
		{"engine passes: failover → placed", tFailover, tFailed.Add(time.Second)},
	} {
		if w.from.IsZero() {
			continue
		}
		s := statsOf(passes, w.from, w.to)
		if s.n == 0 {
			t.add(w.what, "none logged", "")
			continue
		}
		t.add(w.what, fmt.Sprintf("%d, %v of scheduling", s.n, s.cost.Round(time.Millisecond)), "max %v a pass (build+schedule), %v applying, %d changes",
			s.max.Round(100*time.Microsecond), s.apply.Round(time.Millisecond), s.changes)
	}
	t.print(out, o)
	if obs.err != nil {
		return fmt.Errorf("the observer's watch: %w", obs.err)
	}
	return nil
}

// killMachines kills o.kill percent of the machines (a fixed pseudo-random
// choice, so that no zone and rack pair loses all its machines by design)
// and waits until each unit that was on one is placed on a live machine or
// has a reason why not. It returns the keys written meanwhile, by kind,
// until a second after the last move.
func killMachines(ctx context.Context, o options, fleet *fleet, obs *observer) (tKill, tGone, tMoved time.Time, moved int, written map[string]int, err error) {
	n := int(float64(o.machines) * o.kill / 100)
	dead := map[string]bool{}
	var ids []string
	for _, i := range rand.New(rand.NewPCG(11, 4)).Perm(len(fleet.ids))[:n] {
		dead[fleet.ids[i]] = true
		ids = append(ids, fleet.ids[i])
	}
	on := obs.placedOn(dead)
	before := obs.counts()
	tKill = time.Now()
	if err = fleet.kill(ctx, ids); err != nil {
		return tKill, tGone, tMoved, 0, nil, err
	}
	if err = obs.wait(ctx, o.phase, func(o *observer) bool {
		for id := range dead {
			if !o.gone[id] {
				return false
			}
		}
		return true
	}); err != nil {
		return tKill, tGone, tMoved, 0, nil, fmt.Errorf("waiting for the dead machines' records to go: %w", err)
	}
	tGone = time.Now()
	settled := func(o *observer) bool {
		for u := range on {
			live := false
			for mid := range o.byUnit[u] {
				live = live || !dead[mid]
			}
			if !live && !o.unplaced[u] {
				return false
			}
		}
		return true
	}
	if err = obs.wait(ctx, o.phase, settled); err != nil {
		return tKill, tGone, tMoved, 0, nil, fmt.Errorf("waiting for the dead machines' units to move: %w", err)
	}
	tMoved = time.Now()
	// Writes that follow the last move (reasons, notes) count too.
	select {
	case <-time.After(time.Second):
	case <-ctx.Done():
	}
	after := obs.counts()
	obs.mu.Lock()
	for u := range on {
		if strings.HasPrefix(u, "global") {
			continue
		}
		for mid := range obs.byUnit[u] {
			if !dead[mid] {
				moved++
				break
			}
		}
	}
	obs.mu.Unlock()
	written = map[string]int{}
	for k, v := range after.writes {
		written[k] = v - before.writes[k]
	}
	return tKill, tGone, tMoved, moved, written, nil
}

// failover SIGKILLs the leading engine's process, submits units at once,
// and returns when another engine leads and when they were all placed.
func failover(ctx context.Context, o options, reg *registry.Registry, engines map[string]*proc, obs *observer) (tKill, tLed, tPlaced time.Time, err error) {
	leader, err := reg.Leader(ctx)
	if err != nil {
		return tKill, tLed, tPlaced, err
	}
	p := engines[leader]
	if p == nil {
		return tKill, tLed, tPlaced, fmt.Errorf("the leader %q is none of this run's engines", leader)
	}
	var files []*unit.File
	for i := range o.failover {
		f, err := unit.Parse(fmt.Sprintf("failover%04d.service", i), []byte(fmt.Sprintf("[Service]\nExecStart=/bin/failover %d\n", i)))
		if err != nil {
			return tKill, tLed, tPlaced, err
		}
		files = append(files, f)
	}
	before := obs.counts()
	tKill = time.Now()
	p.kill()
	if err := reg.CreateUnits(ctx, files, registry.StateLaunched); err != nil {
		return tKill, tLed, tPlaced, err
	}
	led := make(chan time.Time, 1)
	go func() {
		_ = waitFor(ctx, "a new leader", func() bool {
			l, err := reg.Leader(ctx)
			return err == nil && l != "" && l != leader
		})
		led <- time.Now()
	}()
	if err := obs.wait(ctx, o.phase, func(ob *observer) bool { return ob.placed >= before.placed+len(files) }); err != nil {
		return tKill, tLed, tPlaced, fmt.Errorf("waiting for the new leader to place: %w", err)
	}
	tPlaced = time.Now()
	select {
	case tLed = <-led:
	case <-ctx.Done():
		return tKill, tLed, tPlaced, errors.New("no new leader")
	}
	return tKill, tLed, tPlaced, nil
}

// submit creates the units, batch per call, from submitters at once (as
// many flotactl submits would): one submitter's calls, each waiting for
// its transactions, would measure the submitter more than the engine.
func submit(ctx context.Context, reg *registry.Registry, files []*unit.File, batch, submitters int) error {
	next := make(chan []*unit.File)
	errs := make(chan error, max(submitters, 1))
	for range max(submitters, 1) {
		go func() {
			var err error
			for b := range next {
				if err == nil {
					err = reg.CreateUnits(ctx, b, registry.StateLaunched)
				}
			}
			errs <- err
		}()
	}
	for i := 0; i < len(files); i += batch {
		next <- files[i:min(i+batch, len(files))]
	}
	close(next)
	var all []error
	for range max(submitters, 1) {
		all = append(all, <-errs)
	}
	return errors.Join(all...)
}

// health adds what the live machines lost: leases, registrations,
// fences, and how late their keep-alive answers came.
func health(ctx context.Context, t *table, fleet *fleet, obs *observer) {
	obs.mu.Lock()
	falseLosses := 0
	for id := range obs.gone {
		if !fleet.isKilled(id) {
			falseLosses++
		}
	}
	obs.mu.Unlock()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	st, err := fleet.stats(sctx)
	if err != nil {
		t.add("false machine losses", fmt.Sprintf("%d and ?", falseLosses), "records of live machines deleted: %d; the machines' processes did not say: %v", falseLosses, err)
		return
	}
	t.add("false machine losses", fmt.Sprint(falseLosses+st.Lost), "records of live machines deleted: %d; registrations of live machines lost: %d", falseLosses, st.Lost)
	t.add("fences raised on live machines", fmt.Sprint(st.Fences), "an agent that heard nothing from etcd for most of its lease stops its units that stop on disconnect; "+
		"%d times a fuse about to blow found an answer read but not yet handed over", st.Peeks)
	t.add("keep-alives: longest a machine went without an answer", st.Gap.Round(time.Millisecond).String(),
		"its fuse blows at %v; request sent → answer read: p99 %v, max %v (worst process)", DefaultFuse, st.Trip99.Round(time.Millisecond), st.TripMax.Round(time.Millisecond))
}

// DefaultFuse is how long after an answer the agent's fuse blows at the
// default lease: TTL less agent.DefaultFenceLead.
const DefaultFuse = 4 * time.Second

// cpuSample is the CPU time used so far by this process, the simulated
// machines' processes, etcd and the engines.
type cpuSample struct{ self, sims, etcd, engines time.Duration }

func cpuOf(etcd *proc, engines map[string]*proc, fleet *fleet) cpuSample {
	s := cpuSample{self: cpuTime(os.Getpid()), etcd: cpuTime(etcd.pid())}
	for _, p := range engines {
		s.engines += cpuTime(p.pid())
	}
	for _, pid := range fleet.pids() {
		s.sims += cpuTime(pid)
	}
	return s
}

// cpuShare is CPU use over a window, in percent of one core.
type cpuShare struct{ self, sims, etcd, engines, total float64 }

func (s cpuSample) since(then cpuSample, d time.Duration) cpuShare {
	pct := func(c time.Duration) float64 { return 100 * c.Seconds() / d.Seconds() }
	c := cpuShare{self: pct(s.self - then.self), sims: pct(s.sims - then.sims), etcd: pct(s.etcd - then.etcd), engines: pct(s.engines - then.engines)}
	c.total = (c.self + c.sims + c.etcd + c.engines) / float64(goruntime.NumCPU())
	return c
}

// dbSize is etcd's database size in MiB (0 if etcd does not say).
func dbSize(ctx context.Context, reg *registry.Registry, endpoint string) float64 {
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	n, err := reg.DBSize(sctx, endpoint)
	if err != nil {
		return 0
	}
	return float64(n) / (1 << 20)
}
