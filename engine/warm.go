package engine

import (
	"context"
	"time"

	"github.com/flota-dev/flota/registry"
)

// A standby Engine keeps the cluster warm while it campaigns: it loads the
// cluster once and follows the watch, and once the cluster is quiet it
// schedules it (which parses every unit's requirements into inputs'
// memo), so that when it wins, its first pass starts from a cache at the
// latest revision instead of reading and decoding the whole cluster, and
// from that run's State if the cluster was settled: an incremental pass,
// not a whole one. At 150,000 units the read, the parse and the whole pass
// were a failover's time after the election. What it costs: a standby
// holds the cluster in memory, as the leader does, decodes the watch's
// changes, and runs one whole pass after each burst of changes.

// warm is a standby's cache, kept by its own goroutine until stop.
type warm struct {
	cancel context.CancelFunc
	done   chan struct{}
	got    followed // set by the goroutine; read after done
}

// followed is what a standby hands its leadership: the cache, and when
// the cluster was quiet long enough to schedule it and the plan was empty,
// the State of that run with what changed since.
type followed struct {
	c     *registry.Cluster
	since *sinceLast
	// absent is the standby's memory of machines gone (absences), looked
	// at each time it ran: its State's absences are this one's, and a
	// leadership that takes the State takes it too.
	absent *absences
}

// warmUp starts keeping the cluster warm.
func (e *Engine) warmUp(ctx context.Context) *warm {
	ctx, cancel := context.WithCancel(ctx)
	w := &warm{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		w.got = e.follow(ctx)
	}()
	return w
}

// stop ends the goroutine and returns what it kept; a nil cache when it
// has none it can vouch for (no load worked).
func (w *warm) stop() followed {
	w.cancel()
	<-w.done
	return w.got
}

// follow loads the cluster and applies the watch to it until ctx ends,
// loading again when the watch breaks. Once the cluster has been quiet for
// warmQuiet since it last changed, it schedules it as the leader would;
// if that plans nothing (the leader left it settled), the run's State is
// kept with what changes after it, so that the new leader's first pass is
// an incremental one.
func (e *Engine) follow(ctx context.Context) followed {
	backoff := time.Second
	for ctx.Err() == nil {
		c, err := e.store.LoadCluster(ctx, e.log)
		if err != nil {
			if ctx.Err() == nil {
				e.log.Debug("standby cannot load the cluster", "err", err, "retry_in", backoff)
				sleep(ctx, backoff)
				backoff = min(2*backoff, 30*time.Second)
			}
			continue
		}
		backoff = time.Second
		since := &sinceLast{}
		absent := newAbsences(e.cfg.MachineTTL)
		e.in.build(c) // parses every unit's requirements into the memo
		parsed := time.Now()
		quiet := e.cfg.Clock.After(warmQuiet)
		applied := c.Revision // what the cache holds for sure (LastEvent)
		updates := e.store.WatchCluster(ctx, c.Revision+1)
	watch:
		for {
			select {
			case u, ok := <-updates:
				if !ok || u.Err != nil {
					break watch // ctx ended, or compacted, or etcd lost its leader
				}
				c.Apply(u)
				applied = max(applied, u.LastEvent())
				c.Revision = applied
				since.note(c, u)
				quiet = e.cfg.Clock.After(warmQuiet)
				if time.Since(parsed) > warmParse {
					e.in.build(c) // a cluster that never goes quiet: new units' requirements, now and then
					parsed = time.Now()
				}
			case <-quiet:
				quiet = nil
				if since.state == nil || len(since.units) > 0 || since.machineGone || since.others {
					since = &sinceLast{state: e.standbyRun(c, absent)}
					e.log.Debug("standby ran", "revision", c.Revision, "settled", since.state != nil)
				}
			}
		}
		if ctx.Err() != nil {
			return followed{c: c, since: since, absent: absent} // what it applied is whole: the leader watches on from its revision
		}
	}
	return followed{}
}

// standbyRun schedules c as a leader's first pass would, with the
// standby's own absences, and returns the State if the plan is empty,
// else nil. Absent machines are the standby's own look: a leadership
// that takes the State takes its absences (lead), which know since when
// a machine it watched go has gone, where a fresh one would hold them
// all a lease long (absences.update). A machine loss leaves its globals
// held for an hour (GhostGlobals): without this, no standby would hand
// over a State for that hour.
func (e *Engine) standbyRun(c *registry.Cluster, absent *absences) *State {
	in := e.in.build(c)
	in.Now = e.cfg.Clock.Now()
	in.Absent = absent.update(in.Now, presentMachines(c), placedMachines(c))
	in.Disconnect, in.StopMargin = e.cfg.Disconnect, e.cfg.StopMargin
	in.Rebalance = e.cfg.Rebalance
	if len(in.Drains) > 0 || len(c.Moves) > 0 {
		return nil // what a leader decides then reads states
	}
	plan, st := ScheduleState(in)
	if !plan.Empty() {
		return nil // the leader is not done: its writes will come
	}
	return st
}

// warmQuiet is how long the cluster must not change before a standby
// schedules it: a burst costs it one whole pass, after the burst; and
// warmParse how often it parses new units' requirements meanwhile.
const (
	warmQuiet = 2 * time.Second
	warmParse = 5 * time.Second
)
