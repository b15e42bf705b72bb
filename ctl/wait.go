package ctl

import (
	"context"
	"fmt"
	"time"

	"github.com/flota-dev/flota/reason"
	"github.com/flota-dev/flota/registry"
)

// attemptInterval is what one --block-attempts attempt is worth.
const attemptInterval = 2 * time.Second

// waitItem is a unit to wait for.
type waitItem struct {
	name   string
	global bool // reached when every machine it is placed on reached the state
}

// waitFor blocks until every unit reached target, calling done for each as
// it does (in the order given when several arrive at once). It reads the
// status once, then again only when the watch says something changed: it
// never polls. While a unit waits for a reason flota knows (it cannot be
// placed, its image is being pulled, systemd failed it), the reason is
// said once on stderr, and again if it changes. Once every unit left is
// stuck, as waiting will not bring it there (it cannot be placed until the
// machines change, or it failed in a way no retry mends), it stops, with
// exitUnitFailed if one failed, else exitUnplaceable. attempts > 0 gives
// up after attempts×2s, reporting every unit still pending; 0 waits until
// ctx ends.
func (c *cli) waitFor(ctx context.Context, items []waitItem, target registry.State, attempts int, done func(v *view, name, machine string)) error {
	if len(items) == 0 {
		return nil
	}
	pending := items
	stuck := 0 // once check is done with units left: the exit code they are stuck with
	said := map[string]string{}
	counted := map[string]reason.Unplaced{} // the reasons counted so far, by unit
	check := func(st *registry.Status) bool {
		if recount(st, pending, counted) {
			if err := c.countReasons(ctx, st); err != nil {
				// The reasons are said as stored, without counts; the
				// status read that follows will say if etcd is gone.
				c.log.Debug("count the reasons", "err", err)
			}
			for _, it := range pending {
				if r, ok := st.Unplaced[it.name]; ok && r.Counted() {
					counted[it.name] = r
				}
			}
		}
		v := newView(st)
		left := pending[:0:0]
		stuck = 0
		for _, it := range pending {
			if m, ok := v.reached(it.name, target, it.global); ok {
				done(v, it.name, m)
				continue
			}
			left = append(left, it)
			why, code := v.obstacle(it.name, target)
			if why != "" && why != said[it.name] {
				fmt.Fprintf(c.errOut, "Unit %s %s\n", it.name, why)
			}
			said[it.name] = why
			switch {
			case code == 0:
				stuck = -1 // one still may get there
			case stuck >= 0:
				stuck = max(stuck, code) // exitUnitFailed over exitUnplaceable
			}
		}
		pending = left
		return len(pending) == 0 || stuck > 0
	}
	timedOut := func() {
		for _, it := range pending {
			fmt.Fprintf(c.errOut, "Error waiting for units: timed out waiting for unit %s to report state %s\n", it.name, target)
		}
	}
	if err := c.follow(ctx, attempts, check, timedOut); err != nil {
		return err
	}
	if len(pending) > 0 {
		return &reportedError{code: stuck}
	}
	return nil
}

// follow reads the status, then again only when the watch says something
// changed (it never polls), and hands each to check until check says it is
// done. attempts > 0 gives up after attempts×2s: timedOut says what was
// left, and the exit status is 1; 0 waits until ctx ends.
func (c *cli) follow(ctx context.Context, attempts int, check func(*registry.Status) bool, timedOut func()) error {
	var timeout <-chan time.Time
	if attempts > 0 {
		t := time.NewTimer(time.Duration(attempts) * attemptInterval)
		defer t.Stop()
		timeout = t.C
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var rev int64
	var changes <-chan registry.StatusChange
	for {
		if changes == nil {
			st, err := c.status(ctx)
			if err != nil {
				return err
			}
			rev = st.Revision
			if check(st) {
				return nil
			}
			changes = c.reg.WatchStatus(wctx, rev)
		}
		select {
		case ch, ok := <-changes:
			switch {
			case !ok || ch.Err != nil:
				// The watch broke (etcd restarted, history compacted):
				// read again and watch from there.
				c.log.Debug("status watch ended", "err", ch.Err)
				changes = nil
				if err := pause(ctx, 200*time.Millisecond); err != nil {
					return err
				}
			case ch.Revision > rev:
				st, err := c.status(ctx)
				if err != nil {
					return err
				}
				rev = st.Revision
				if check(st) {
					return nil
				}
			}
		case <-timeout:
			if timedOut != nil {
				timedOut()
			}
			return &reportedError{code: exitFailure}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// pause waits d, or until ctx ends.
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// reachedMessage prints fleetctl's "Unit X launched on 54a526e2.../10.0.0.1",
// or "Unit X inactive", as a unit reaches target.
func (c *cli) reachedMessage(target registry.State) func(v *view, name, machine string) {
	return func(v *view, name, machine string) {
		if machine == "" {
			fmt.Fprintf(c.out, "Unit %s %s\n", name, target)
			return
		}
		fmt.Fprintf(c.out, "Unit %s %s on %s\n", name, target, v.legend(machine, false))
	}
}

// recount says whether a unit still waited for has a stored reason it
// cannot be placed that was not counted yet: countReasons reads the whole
// cluster, so the reasons counted are kept and put back into st for as
// long as the stored ones mean the same (a reason is said again only when
// its meaning changes, not for a machine that joined).
func recount(st *registry.Status, pending []waitItem, counted map[string]reason.Unplaced) bool {
	need := false
	for _, it := range pending {
		stored, ok := st.Unplaced[it.name]
		if !ok {
			continue
		}
		if r, done := counted[it.name]; done && r.Equal(stored) {
			st.Unplaced[it.name] = r
			continue
		}
		need = true
	}
	return need
}
