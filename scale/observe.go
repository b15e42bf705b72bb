package scale

import (
	"context"
	"sync"
	"time"

	"github.com/flota-dev/flota/registry"
)

// observer follows every key of the registry through one watch
// (registry.WatchKeys), as an operator's tool would: what is placed, what
// is reported launched, which machine records went, and how many keys of
// each kind were written.
type observer struct {
	mu       sync.Mutex
	byUnit   map[string]map[string]bool // unit -> machines it is placed on
	placed   int                        // placement keys
	launched map[string]bool            // state key -> reported launched
	nLaunch  int
	unplaced map[string]bool // units with a reason
	gone     map[string]bool // machine records deleted
	writes   map[string]int  // by kind of key: every put and delete
	changed  chan struct{}   // closed and replaced at every batch of events
	err      error
}

func newObserver() *observer {
	return &observer{byUnit: map[string]map[string]bool{}, launched: map[string]bool{},
		unplaced: map[string]bool{}, gone: map[string]bool{}, writes: map[string]int{}, changed: make(chan struct{})}
}

// run follows the watch until ctx ends.
func (o *observer) run(ctx context.Context, reg *registry.Registry) {
	for batch := range reg.WatchKeys(ctx) {
		o.mu.Lock()
		if batch.Err != nil {
			o.err = batch.Err
		}
		for _, c := range batch.Changes {
			o.apply(c)
		}
		close(o.changed)
		o.changed = make(chan struct{})
		o.mu.Unlock()
	}
}

func (o *observer) apply(c registry.KeyChange) {
	o.writes[c.Kind]++
	switch c.Kind {
	case "placements":
		ms := o.byUnit[c.Unit]
		if ms == nil {
			ms = map[string]bool{}
			o.byUnit[c.Unit] = ms
		}
		if c.Deleted && ms[c.Machine] {
			delete(ms, c.Machine)
			o.placed--
		} else if !c.Deleted && !ms[c.Machine] {
			ms[c.Machine] = true
			o.placed++
		}
	case "states":
		key := c.Machine + "/" + c.Unit
		now := !c.Deleted && c.State == registry.StateLaunched
		if was := o.launched[key]; was != now {
			if now {
				o.nLaunch++
			} else {
				o.nLaunch--
			}
		}
		if now {
			o.launched[key] = true
		} else {
			delete(o.launched, key)
		}
	case "unplaced":
		if c.Deleted {
			delete(o.unplaced, c.Unit)
		} else {
			o.unplaced[c.Unit] = true
		}
	case "machines":
		if c.Deleted {
			o.gone[c.Machine] = true
		} else {
			delete(o.gone, c.Machine)
		}
	}
}

// wait returns once cond holds (called with the observer locked), or an
// error when ctx ends or limit passes first.
func (o *observer) wait(ctx context.Context, limit time.Duration, cond func(o *observer) bool) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for {
		o.mu.Lock()
		ok, ch := cond(o), o.changed
		o.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// counts is what the observer has seen so far.
type counts struct {
	placed, launched, unplaced int
	writes                     map[string]int
}

func (o *observer) counts() counts {
	o.mu.Lock()
	defer o.mu.Unlock()
	w := make(map[string]int, len(o.writes))
	for k, v := range o.writes {
		w[k] = v
	}
	return counts{placed: o.placed, launched: o.nLaunch, unplaced: len(o.unplaced), writes: w}
}

// placedOn lists the units placed on machine m.
func (o *observer) placedOn(dead map[string]bool) map[string]bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := map[string]bool{}
	for u, ms := range o.byUnit {
		for m := range ms {
			if dead[m] {
				out[u] = true
			}
		}
	}
	return out
}

// since is how long ago t was, rounded for the table.
func since(t time.Time) time.Duration { return time.Since(t).Round(time.Millisecond) }
