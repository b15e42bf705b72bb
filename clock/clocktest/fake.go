// Package clocktest has a clock.Clock that moves only when a test says so.
package clocktest

import (
	"sync"
	"time"

	"github.com/flota-dev/flota/clock"
)

// Fake is time that stands still until Advance.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
	armed   chan struct{} // closed and replaced whenever After is called
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

var _ clock.Clock = (*Fake)(nil)

// New returns a Fake standing at now.
func New(now time.Time) *Fake { return &Fake{now: now, armed: make(chan struct{})} }

func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *Fake) After(d time.Duration) <-chan time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- f.now
	} else {
		f.waiters = append(f.waiters, waiter{f.now.Add(d), ch})
	}
	close(f.armed)
	f.armed = make(chan struct{})
	return ch
}

// Armed is closed at the next call of After: a test waits on it to know
// that the code under test is waiting on the clock.
func (f *Fake) Armed() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.armed
}

// Advance moves time on by d and fires every wait that falls due.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
	kept := f.waiters[:0]
	for _, w := range f.waiters {
		if w.at.After(f.now) {
			kept = append(kept, w)
		} else {
			w.ch <- f.now
		}
	}
	f.waiters = kept
}
