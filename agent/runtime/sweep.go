package runtime

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/flota-dev/flota/agent/image"
	"github.com/flota-dev/flota/agent/quota"
)

// Retention defaults: how long what no task uses stays on the machine.
const (
	// DefaultImageGrace keeps an image no task uses for a while after its
	// last task ended, so that a unit stopped and started again, or
	// rescheduled here, does not fetch it again.
	DefaultImageGrace = 30 * time.Minute
	// DefaultKeepFailed is how long the last failed snapshot of a unit is
	// kept for inspection.
	DefaultKeepFailed = 7 * 24 * time.Hour
	// staleRetry is when a sweep that found qgroups still busy looks again.
	staleRetry = time.Minute
)

// sweepInput is what a sweep decides on: the store's contents, the units
// this machine has, and the time.
type sweepInput struct {
	Now        time.Time
	Grace      time.Duration
	KeepFailed time.Duration
	Live       map[string]bool // task keys of the units the machine has
	Tasks      []image.Task
	Tags       map[string]image.LayerID
	TagTimes   map[string]time.Time
	Failed     []image.Kept // oldest first
}

// sweepPlan is what a sweep removes, in this order, and when the next
// sweep has something to do (zero: nothing will expire).
type sweepPlan struct {
	Tasks  []string     // snapshots of units the machine no longer has
	Failed []image.Kept // failed snapshots past their time, or superseded
	Untag  []string     // images no task used for Grace
	Next   time.Time
}

// planSweep decides a sweep. A task snapshot goes when its unit is gone
// (a crash between a unit's removal and its Cleanup leaves one). A unit
// keeps only its newest failed snapshot, for KeepFailed. An image goes
// when no remaining task runs its layer and it was last used Grace ago;
// its layers then go with the store's GC.
func planSweep(in sweepInput) sweepPlan {
	var p sweepPlan
	used := map[image.LayerID]bool{}
	for _, t := range in.Tasks {
		if in.Live[t.Key] {
			used[t.Layer] = true
		} else {
			p.Tasks = append(p.Tasks, t.Key)
		}
	}
	slices.Sort(p.Tasks)
	later := func(t time.Time) {
		if t.After(in.Now) && (p.Next.IsZero() || t.Before(p.Next)) {
			p.Next = t
		}
	}
	newest := map[string]time.Time{}
	for _, k := range in.Failed {
		if k.At.After(newest[k.Key]) {
			newest[k.Key] = k.At
		}
	}
	for _, k := range in.Failed {
		end := k.At.Add(in.KeepFailed)
		if k.At.Before(newest[k.Key]) || !end.After(in.Now) {
			p.Failed = append(p.Failed, k)
		} else {
			later(end)
		}
	}
	for name, layer := range in.Tags {
		if used[layer] {
			continue
		}
		end := in.TagTimes[name].Add(in.Grace)
		if end.After(in.Now) {
			later(end)
		} else {
			p.Untag = append(p.Untag, name)
		}
	}
	slices.Sort(p.Untag)
	slices.SortFunc(p.Failed, func(a, b image.Kept) int { return cmp.Compare(a.Name, b.Name) })
	return p
}

// Swept is what a Sweep removed.
type Swept struct {
	Tasks  []string        // orphaned task snapshots (task keys)
	Failed []string        // failed snapshots (entries under failed/)
	Images []string        // image names untagged
	Layers []image.LayerID // layers deleted
	// Next is when something kept now becomes due; zero: nothing is.
	Next time.Time
}

// Items words what was removed, one entry each, for a log line.
func (s Swept) Items() []string {
	var out []string
	for _, t := range s.Tasks {
		out = append(out, "task "+t)
	}
	for _, f := range s.Failed {
		out = append(out, "failed "+f)
	}
	for _, i := range s.Images {
		out = append(out, "image "+i)
	}
	for _, l := range s.Layers {
		out = append(out, "layer "+string(l))
	}
	return out
}

// Sweep removes what no unit of this machine needs any more: snapshots
// of units not among units (the names of every unit the machine has,
// placed or on disk), failed snapshots past keeping, images unused for
// the grace period, then the layers no image or task holds, and the
// qgroups of deleted subvolumes. It goes on past a failed removal (a
// snapshot still mounted, say) and returns every error.
func (r *Runtime) Sweep(ctx context.Context, units []string, now time.Time) (Swept, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	in := sweepInput{Now: now, Grace: r.grace, KeepFailed: r.keepFailed, Live: make(map[string]bool, len(units))}
	for _, n := range units {
		in.Live[Key(n)] = true
	}
	var err error
	if in.Tasks, err = r.images.Tasks(ctx); err != nil {
		return Swept{}, fmt.Errorf("sweep: %w", err)
	}
	if in.Tags, err = r.images.Tags(ctx); err != nil {
		return Swept{}, fmt.Errorf("sweep: %w", err)
	}
	if in.TagTimes, err = r.images.TagTimes(ctx); err != nil {
		return Swept{}, fmt.Errorf("sweep: %w", err)
	}
	if in.Failed, err = r.images.Failed(ctx); err != nil {
		return Swept{}, fmt.Errorf("sweep: %w", err)
	}
	p := planSweep(in)
	out := Swept{Next: p.Next}
	var errs []error
	for _, key := range p.Tasks {
		if _, err := r.images.RemoveSnapshot(ctx, key, false); err != nil && !errors.Is(err, image.ErrNotFound) {
			errs = append(errs, err)
			continue
		}
		out.Tasks = append(out.Tasks, key)
	}
	for _, k := range p.Failed {
		if err := r.images.RemoveFailed(ctx, k); err != nil && !errors.Is(err, image.ErrNotFound) {
			errs = append(errs, err)
			continue
		}
		out.Failed = append(out.Failed, k.Name)
	}
	for _, name := range p.Untag {
		if err := r.images.Untag(ctx, name); err != nil && !errors.Is(err, image.ErrNotFound) {
			errs = append(errs, err)
			continue
		}
		out.Images = append(out.Images, name)
	}
	out.Layers, err = r.images.GC(ctx, r.holds)
	errs = append(errs, err)
	// The qgroups of what was deleted, now or by an earlier sweep: those
	// still being cleaned by the kernel are for a sweep a little later.
	if err := quota.ClearStale(ctx, r.images.Root()); errors.Is(err, quota.ErrBusy) {
		if soon := now.Add(staleRetry); out.Next.IsZero() || soon.Before(out.Next) {
			out.Next = soon
		}
	} else {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return out, fmt.Errorf("sweep: %w", err)
	}
	return out, nil
}

// touchTask records that the images of task key's layer were used now,
// so their grace runs from the end of their last task; a key without a
// snapshot touches nothing.
func (r *Runtime) touchTask(ctx context.Context, key string) error {
	t, err := r.images.Task(ctx, key)
	if errors.Is(err, image.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	tags, err := r.images.Tags(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for name, id := range tags {
		if id == t.Layer {
			errs = append(errs, r.images.Touch(ctx, name, r.now()))
		}
	}
	return errors.Join(errs...)
}
