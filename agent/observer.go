package agent

import "time"

// Observer is told what the Agent does, for its metrics (package
// metrics). Each call must return at once: it is made from the Agent's
// loop.
type Observer interface {
	// Reconciled: one pass over the machine's units, how long it took
	// (plan and apply; starts are not waited for) and how it ended.
	Reconciled(took time.Duration, err error)
	// Pulled: one image pull, how long it took, the bytes it received and
	// how it ended.
	Pulled(took time.Duration, bytes int64, err error)
}

// noObserver is the Observer of an Agent given none.
type noObserver struct{}

func (noObserver) Reconciled(time.Duration, error)    {}
func (noObserver) Pulled(time.Duration, int64, error) {}
