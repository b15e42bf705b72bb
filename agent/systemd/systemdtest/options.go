package systemdtest

import (
	"fmt"
	"path"
	"time"

	"github.com/flota-dev/flota/clock"
)

// Options make a Fake's units behave as a simulated machine's do: their
// files name programs that never run, so how long a start takes and which
// units fail are said here instead.
type Options struct {
	// Clock times StartDelay (default the system's).
	Clock clock.Clock
	// StartDelay is how long a start job lasts, the unit activating
	// meanwhile; 0: jobs end at once, as NewFake's do.
	StartDelay time.Duration
	// Fail lists globs (path.Match) of unit names whose start fails, as
	// a service whose process exits with an error: failed, and the job
	// failed.
	Fail []string
}

// CheckGlobs says whether every glob of Fail is well formed.
func (o Options) CheckGlobs() error {
	for _, g := range o.Fail {
		if _, err := path.Match(g, ""); err != nil {
			return fmt.Errorf("fail glob %q: %w", g, err)
		}
	}
	return nil
}

func (o Options) fails(name string) bool {
	for _, g := range o.Fail {
		if ok, _ := path.Match(g, name); ok {
			return true
		}
	}
	return false
}
