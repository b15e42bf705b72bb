package scale

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// observer follows every key under the prefix through one watch, as an
// operator's tool would: what is placed, what is reported launched, which
// machine records went, and how many keys of each kind were written.
type observer struct {
	prefix string

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

func newObserver(prefix string) *observer {
	return &observer{prefix: prefix, byUnit: map[string]map[string]bool{}, launched: map[string]bool{},
		unplaced: map[string]bool{}, gone: map[string]bool{}, writes: map[string]int{}, changed: make(chan struct{})}
}

// run follows the watch until ctx ends.
func (o *observer) run(ctx context.Context, cli *clientv3.Client) {
	for resp := range cli.Watch(ctx, o.prefix, clientv3.WithPrefix()) {
		o.mu.Lock()
		if err := resp.Err(); err != nil {
			o.err = err
		}
		for _, ev := range resp.Events {
			o.apply(ev)
		}
		close(o.changed)
		o.changed = make(chan struct{})
		o.mu.Unlock()
	}
}

func (o *observer) apply(ev *clientv3.Event) {
	key := strings.TrimPrefix(string(ev.Kv.Key), o.prefix)
	del := ev.Type == mvccpb.DELETE
	kind, rest, _ := strings.Cut(key, "/")
	if kind == "cluster" {
		kind, rest, _ = strings.Cut(rest, "/")
	}
	o.writes[kind]++
	switch kind {
	case "placements":
		m, u, _ := strings.Cut(rest, "/")
		ms := o.byUnit[u]
		if ms == nil {
			ms = map[string]bool{}
			o.byUnit[u] = ms
		}
		if del && ms[m] {
			delete(ms, m)
			o.placed--
		} else if !del && !ms[m] {
			ms[m] = true
			o.placed++
		}
	case "states":
		var v struct {
			State string `json:"state"`
		}
		now := !del && json.Unmarshal(ev.Kv.Value, &v) == nil && v.State == "launched"
		if was := o.launched[rest]; was != now {
			if now {
				o.nLaunch++
			} else {
				o.nLaunch--
			}
		}
		if now {
			o.launched[rest] = true
		} else {
			delete(o.launched, rest)
		}
	case "unplaced":
		if del {
			delete(o.unplaced, rest)
		} else {
			o.unplaced[rest] = true
		}
	case "machines":
		if del {
			o.gone[rest] = true
		} else {
			delete(o.gone, rest)
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
