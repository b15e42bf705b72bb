package agent

import (
	"context"
	"sync"
	"time"

	"github.com/flota-dev/flota/clock"
)

// fuse raises the fence (fence.go) before this machine's lease can expire.
//
// etcd extends the lease from each keep-alive it receives, so the lease
// cannot end before the last answer the agent got plus the TTL (less the
// answer's trip back, which the engine's margin covers). The fuse blows at
// that moment less lead: the units that stop on disconnect are then
// stopped, lead before the engine could see the machine gone, and
// DefaultStopMargin before it may place them elsewhere.
//
// It runs from the Agent's start, not from its first registration: a flotad
// restarted while etcd is unreachable may be running units whose lease, of
// the process before, is running out.
type fuse struct {
	clock clock.Clock
	blow  time.Duration // after the last answer: TTL less lead
	set   func(ctx context.Context, on bool)

	mu      sync.Mutex
	last    time.Time // the latest answer
	lower   bool      // a lowering is asked for
	changed chan struct{}
	// peek, when set, tells of the lease in force when its latest answer
	// was read, before renew hears of it: the fuse asks it before it
	// blows, so that an answer still on its way through a busy process's
	// goroutines does not raise the fence.
	peek   func() time.Time
	peeked int // times a peek kept it from blowing
}

// DefaultFenceLead is how long before the lease can end the fuse blows: the
// time units that stop on disconnect have to stop.
const DefaultFenceLead = time.Second

func newFuse(c clock.Clock, ttl, lead time.Duration, set func(context.Context, bool)) *fuse {
	lead = min(lead, ttl/3) // a short lease (tests) keeps two keep-alives before the fuse
	return &fuse{clock: c, blow: ttl - lead, set: set, last: c.Now(), changed: make(chan struct{}, 1)}
}

// renew records an answer of etcd at t, for the lease in force; lower says
// it proves the fence may come down (a keep-alive of the lease the fence
// went up under, or Placements read under a new lease).
func (f *fuse) renew(t time.Time, lower bool) {
	f.mu.Lock()
	if t.After(f.last) {
		f.last = t
	}
	f.lower = f.lower || lower
	f.mu.Unlock()
	select {
	case f.changed <- struct{}{}:
	default:
	}
}

// follow makes the fuse ask peek before it blows (nil: ask nothing), for
// as long as the lease peek tells of is the one in force.
func (f *fuse) follow(peek func() time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.peek = peek
}

// peeks is how many times peek kept the fuse from blowing.
func (f *fuse) peeks() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.peeked
}

// run blows the fuse when due, and lowers the fence when asked while the
// lease is alive, until ctx ends. It counts from its own start, not from
// the fuse's making: an Agent made long before it runs (thousands of
// simulated machines made at once, started as they may register) has had
// no chance to hear from etcd yet.
func (f *fuse) run(ctx context.Context) {
	f.mu.Lock()
	if now := f.clock.Now(); now.After(f.last) {
		f.last = now
	}
	f.mu.Unlock()
	fenced := false
	for {
		f.mu.Lock()
		due := f.last.Add(f.blow)
		lower := f.lower
		f.lower = false
		peek := f.peek
		f.mu.Unlock()
		now := f.clock.Now()
		if !fenced && !now.Before(due) && peek != nil {
			if t := peek(); t.Add(f.blow).After(now) {
				f.mu.Lock()
				f.peeked++
				f.mu.Unlock()
				f.renew(t, false) // an answer read, not yet handed over
				continue
			}
		}
		switch {
		case !fenced && !now.Before(due):
			fenced = true
			f.set(ctx, true)
			continue
		case fenced && lower && now.Before(due):
			fenced = false
			f.set(ctx, false)
		}
		var wait <-chan time.Time
		if !fenced {
			wait = f.clock.After(due.Sub(now))
		}
		select {
		case <-ctx.Done():
			return
		case <-f.changed:
		case <-wait:
		}
	}
}
