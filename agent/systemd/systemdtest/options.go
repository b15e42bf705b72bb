package systemdtest

import (
	"fmt"
	"path"
	"time"

	"github.com/flota-dev/flota/clock"
	"github.com/flota-dev/flota/unit"
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
	// Foreign are the unit files on the machine that its Agent did not
	// write, name -> path, as systemd's search path has them; nil is
	// MachineUnits, a Debian machine's.
	Foreign map[string]string
}

// MachineUnits are unit files every machine has, as a Debian 12 machine
// does (systemd 252): the Fake's default Foreign.
func MachineUnits() map[string]string {
	return map[string]string{
		"dbus.service":             "/lib/systemd/system/dbus.service",
		"dbus.socket":              "/lib/systemd/system/dbus.socket",
		"getty@.service":           "/lib/systemd/system/getty@.service",
		"systemd-journald.service": "/lib/systemd/system/systemd-journald.service",
		"cron.service":             "/lib/systemd/system/cron.service",
		"multi-user.target":        "/lib/systemd/system/multi-user.target",
		"flotad.service":           "/etc/systemd/system/flotad.service",
	}
}

// foreign looks name, and an instance's template, up in Foreign (which
// NewFakeWith defaults).
func (o Options) foreign(name string) (string, bool) {
	if p, ok := o.Foreign[name]; ok {
		return p, true
	}
	if t, ok := unit.TemplateOf(name); ok {
		p, ok := o.Foreign[t]
		return p, ok
	}
	return "", false
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
