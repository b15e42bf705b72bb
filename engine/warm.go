package engine

import (
	"context"
	"time"

	"github.com/flota-dev/flota/registry"
)

// A standby Engine keeps the cluster warm while it campaigns: it loads the
// cluster once and follows the watch, and it parses every unit's
// requirements (inputs' memo), so that when it wins, its first pass
// starts from a cache at the latest revision instead of reading and
// decoding the whole cluster, and parses nothing. At 150,000 units that
// read and the parse were most of a failover's time after the election.
// What it costs: a standby holds the cluster in memory, as the leader
// does, and decodes the watch's changes.

// warm is a standby's cache, kept by its own goroutine until stop.
type warm struct {
	cancel context.CancelFunc
	done   chan struct{}
	c      *registry.Cluster // set by the goroutine; read after done
}

// warmUp starts keeping the cluster warm.
func (e *Engine) warmUp(ctx context.Context) *warm {
	ctx, cancel := context.WithCancel(ctx)
	w := &warm{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		w.c = e.follow(ctx)
	}()
	return w
}

// stop ends the goroutine and returns its cache, or nil when it has none
// it can vouch for (it never loaded, or its watch broke).
func (w *warm) stop() *registry.Cluster {
	w.cancel()
	<-w.done
	return w.c
}

// follow loads the cluster and applies the watch to it until ctx ends,
// loading again when the watch breaks; it returns the cache (nil if no
// load worked).
func (e *Engine) follow(ctx context.Context) *registry.Cluster {
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
		e.in.build(c) // parses every unit's requirements into the memo
		parsed := time.Now()
		applied := c.Revision // what the cache holds for sure (LastEvent)
		for u := range e.store.WatchCluster(ctx, c.Revision+1) {
			if u.Err != nil {
				break // compacted, or etcd lost its leader: load again
			}
			c.Apply(u)
			applied = max(applied, u.LastEvent())
			c.Revision = applied
			if time.Since(parsed) > warmParse {
				e.in.build(c) // new units' requirements, now and then
				parsed = time.Now()
			}
		}
		if ctx.Err() != nil {
			return c // what it applied is whole: the leader watches on from its revision
		}
	}
	return nil
}

// warmParse is how often a standby parses the requirements of the units
// that came since: a submit burst costs it one parse, not one per update.
const warmParse = 5 * time.Second
