package clock

import "time"

// Clock tells the time and waits.
type Clock interface {
	Now() time.Time
	// After delivers the time once d has passed (at once for d <= 0).
	After(d time.Duration) <-chan time.Time
}

// System is the machine's clock.
type System struct{}

var _ Clock = System{}

func (System) Now() time.Time                         { return time.Now() }
func (System) After(d time.Duration) <-chan time.Time { return time.After(d) }
