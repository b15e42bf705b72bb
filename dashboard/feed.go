package dashboard

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/flota-dev/flota/clock"
)

// ErrTooMany is a browser refused because MaxFollowers follow the feed.
var ErrTooMany = errors.New("too many browsers follow the dashboard")

// Feed watches the cluster while at least one browser follows it and,
// after each change, reads the cluster once, renders it once, and hands
// the frame to every follower: a hundred open dashboards cost one read a
// change, not a hundred, and none while no dashboard is open. Frames are
// at least MinGap apart, so a cluster busy with thousands of changes a
// second is read a few times a second; a follower slower than the feed
// skips to the newest frame.
type Feed struct {
	read   func(ctx context.Context) (frame, error)
	watch  func(ctx context.Context, after int64) <-chan int64 // closes when the watch breaks
	clock  clock.Clock
	minGap time.Duration
	max    int

	mu        sync.Mutex
	followers map[chan frame]struct{}
	following bool // a watch runs, and last is current
	last      frame
	wake      chan struct{} // a first follower came
}

// frame is the cluster's part of the page, rendered at a revision.
type frame struct {
	revision int64
	html     []byte
}

// Follow adds a follower: frames arrive on the channel, the newest only
// when the follower lags. The first is the cluster now. stop removes it.
func (f *Feed) Follow() (frames <-chan frame, stop func(), err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.followers) >= f.max {
		return nil, nil, ErrTooMany
	}
	ch := make(chan frame, 1)
	f.followers[ch] = struct{}{}
	if f.following {
		ch <- f.last
	}
	select {
	case f.wake <- struct{}{}:
	default:
	}
	return ch, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		delete(f.followers, ch)
	}, nil
}

// Run follows the cluster for the followers until ctx ends.
func (f *Feed) Run(ctx context.Context) error {
	for {
		if f.count() == 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-f.wake:
				continue
			}
		}
		f.follow(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-f.clock.After(f.minGap): // after a broken watch or read, not at once again
		}
	}
}

// follow reads, renders and hands out the cluster after every change,
// until no follower is left, ctx ends, or etcd fails it.
func (f *Feed) follow(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer f.setFollowing(false)
	fr, err := f.read(ctx)
	if err != nil {
		return
	}
	f.publish(fr)
	changes := f.watch(ctx, fr.revision)
	for {
		select {
		case <-ctx.Done():
			return
		case <-f.wake: // a follower came; the last frame was handed to it
			continue
		case _, ok := <-changes:
			if !ok {
				return
			}
		case <-f.clock.After(f.minGap):
			// No change: look whether the followers are gone.
			if f.count() == 0 {
				return
			}
			continue
		}
		// Gather what else changed within the gap into this frame.
		gap := f.clock.After(f.minGap)
	gather:
		for {
			select {
			case <-ctx.Done():
				return
			case _, ok := <-changes:
				if !ok {
					return
				}
			case <-gap:
				break gather
			}
		}
		if f.count() == 0 {
			return
		}
		if fr, err = f.read(ctx); err != nil {
			return
		}
		f.publish(fr)
	}
}

func (f *Feed) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.followers)
}

func (f *Feed) setFollowing(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.following = on
}

// publish makes fr the last frame and hands it to every follower, in place
// of one it has not taken yet.
func (f *Feed) publish(fr frame) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.last, f.following = fr, true
	for ch := range f.followers {
		select {
		case <-ch:
		default:
		}
		ch <- fr
	}
}
