package systemdtest

import (
	"context"
	"errors"
	"slices"
)

// watcher delivers the names of changed units to one Watch, in order,
// each pending name once.
type watcher struct {
	ctx     context.Context
	pending []string
	wake    chan struct{}
}

// Watch reports the name of every unit whose state changes. Like a
// systemd.Conn, a Fake has one Watch at a time.
func (f *Fake) Watch(ctx context.Context) (<-chan string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("Watch"); err != nil {
		return nil, err
	}
	if f.watch != nil && f.watch.ctx.Err() == nil {
		return nil, errors.New("fake systemd: Watch called twice")
	}
	w := &watcher{ctx: ctx, wake: make(chan struct{}, 1)}
	f.watch = w
	out := make(chan string)
	go func() {
		defer close(out)
		for {
			select {
			case <-w.wake:
			case <-ctx.Done():
				return
			}
			f.mu.Lock()
			names := w.pending
			w.pending = nil
			f.mu.Unlock()
			for _, n := range names {
				select {
				case out <- n:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}

// signal queues a change of name for the watcher; f.mu is held.
func (f *Fake) signal(name string) {
	w := f.watch
	if w == nil || w.ctx.Err() != nil || slices.Contains(w.pending, name) {
		return
	}
	w.pending = append(w.pending, name)
	select {
	case w.wake <- struct{}{}:
	default:
	}
}
