package agent

import (
	"context"
	"errors"

	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/unit"
)

// Systemd is what the Agent needs of this machine's systemd and of the
// directory that holds its own unit files (agent/systemd.Conn over D-Bus;
// agent/systemd/systemdtest.Fake in tests). The directory is how the Agent
// knows, after a restart, which units are its own: every file in it.
type Systemd interface {
	// UnitFiles lists the agent's unit directory: unit name -> SHA-1 of the
	// file's content (the unit's Hash when the file is what was placed).
	UnitFiles(ctx context.Context) (map[string]unit.Hash, error)
	// WriteUnitFile replaces name's file atomically and links it into
	// systemd's search path (runtime, forced). A unit systemd holds keeps
	// its old definition until Reload; one it does not hold is read from
	// the new file when Load (or Start) first names it.
	WriteUnitFile(ctx context.Context, name string, data []byte) error
	// WriteUnitFiles is WriteUnitFile for a batch, linked in one call
	// (systemd's link is an install operation that scans its search path:
	// milliseconds a call). It returns the error of each file it could not
	// write or link; the others are written and linked.
	WriteUnitFiles(ctx context.Context, files []UnitFile) map[string]error
	// RemoveUnitFile undoes the link and any Enable, clears a failed state
	// and deletes the file. Removing a file that is not there is no error.
	RemoveUnitFile(ctx context.Context, name string) error
	// Enable applies the [Install] section of name's file (runtime, forced),
	// as fleet did; a file without one is left as it is.
	Enable(ctx context.Context, name string) error
	// Reload is systemctl daemon-reload.
	Reload(ctx context.Context) error
	// Load has systemd load each name that it does not hold (the D-Bus
	// LoadUnit: the file is read at the first reference), and reports each
	// unit's state as Units does. A unit systemd holds is left as it is,
	// except one it holds as not-found, which it looks up again once its
	// unit directories changed since it last looked (systemd v246 and
	// later). A unit that is still not-found after its file was linked
	// needs a Reload. Never pass a template.
	Load(ctx context.Context, names []string) (map[string]UnitStatus, error)
	// NeedReload reports systemd's NeedDaemonReload of each name: the unit
	// it holds was loaded from a file that changed or went since. (From
	// systemd v255 on it is also yes for every unit after any link or
	// enable until the next reload: a reload too many, never one too few.)
	NeedReload(ctx context.Context, names []string) (map[string]bool, error)
	// Start starts name and waits for its job: a job that ends other than
	// done is an error wrapping ErrJobFailed that names the unit and result.
	Start(ctx context.Context, name string) error
	// Stop stops name and waits for its job; stopping a unit systemd does
	// not know is no error.
	Stop(ctx context.Context, name string) error
	// Units reports systemd's LOAD/ACTIVE/SUB of each name; a name systemd
	// does not know is not-found/inactive/dead. Never pass a template:
	// systemd refuses the whole call (it wedged fleet's agent for good).
	Units(ctx context.Context, names []string) (map[string]UnitStatus, error)
	// Foreign reports, of names, those that a unit file the Agent did not
	// write gives systemd on this machine (anywhere in systemd's search
	// path, the instance's template file included): name -> that file's
	// path, as systemd sees it. Linking the Agent's own file over such a
	// name would take the unit over from its owner, and removing it would
	// stop what the machine runs. The Agent's own link does not count.
	Foreign(ctx context.Context, names []string) (map[string]string, error)
	// Watch reports, from systemd's D-Bus signals and until ctx ends, the
	// names of units whose state changed; "" means some changes may have
	// been missed. The channel is closed when ctx ends or the bus is lost.
	// It is called once per Systemd.
	Watch(ctx context.Context) (<-chan string, error)
}

// UnitFile is a unit file to write: its unit's name and its content.
type UnitFile struct {
	Name string
	Data []byte
}

// UnitStatus is systemd's view of a unit, as systemctl list-units shows it.
type UnitStatus struct {
	Load   string // loaded, not-found, error, masked, ...
	Active string // active, activating, deactivating, inactive, failed, ...
	Sub    string // running, exited, dead, failed, auto-restart, ...
}

// notFound is what systemd says of a unit it does not know.
var notFound = UnitStatus{Load: "not-found", Active: "inactive", Sub: "dead"}

// ErrJobFailed classifies a systemd job that ended other than done.
var ErrJobFailed = errors.New("systemd job failed")

// ErrSystemdLost is returned by Run when systemd's bus went away.
var ErrSystemdLost = errors.New("lost the connection to systemd")

// Publisher is where the Agent publishes unit states: the Presence of its
// current registration. PublishStates writes the rows of put and deletes
// machine's rows of the units in del, in as few requests as it can; Refuse
// rewrites the machine's record with the units it refuses to run
// (registry.Machine.Refused).
type Publisher interface {
	PublishStates(ctx context.Context, machine string, put []registry.UnitState, del []string) error
	Refuse(ctx context.Context, refused map[string]string) error
}

var _ Publisher = (*registry.Presence)(nil)
