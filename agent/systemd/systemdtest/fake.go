package systemdtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/flota-dev/flota/agent"
	"github.com/flota-dev/flota/clock"
	"github.com/flota-dev/flota/unit"
)

// Fake models agent.Systemd in memory: the unit directory, systemd's
// runtime links and [Install] links, the definitions systemd loaded, unit
// states and their signals.
//
// It follows systemd where the Agent depends on it (see Run) and is
// stricter where systemd is lenient. Loading follows systemd's rules
// (manager_load_unit_prepare, unit_load_fragment; v246 and later): a unit
// it does not hold is read from its file when Load or Start first names
// it, found through systemd's map of the unit files linked into its search
// path, which it rebuilds only when the search path's mtime changed (a link
// or an unlink changes it; see HoldMtime); a unit held as not-found is
// looked up again under the same rule; a unit held as loaded keeps its
// definition until Reload. Stricter: Units never loads (systemd's
// ListUnitsByNames does), and a loaded unit is never forgotten when it
// stops (systemd may garbage-collect it and read its file afresh at the
// next reference), so an Agent that forgets a Load or a Reload fails its
// tests instead of passing by luck. Jobs finish at once; what a service
// does is read from its file (see behave).
type Fake struct {
	mu      sync.Mutex
	files   map[string][]byte    // the unit directory
	links   map[string]bool      // runtime links into the search path
	enabled map[string][]string  // unit -> targets its [Install] hooks it into
	units   map[string]*fakeUnit // what systemd has loaded
	calls   map[string]int
	fail    map[string]error // method -> error for its next call
	watch   *watcher
	opts    Options

	// The search path's mtime, as a count of the links and unlinks that
	// changed it, and systemd's map of the linked unit files with the
	// mtime it was built at (unit_file_build_name_map).
	mtime, mapAt int
	mapped       map[string]bool
	holdMtime    bool
}

type fakeUnit struct {
	status agent.UnitStatus
	def    []byte   // the file as it was loaded
	wants  []string // a target's wanted units, as of the last reload
	// triedAt is, for a unit held as not-found, the map's mtime when its
	// file was looked for (fragment_not_found_timestamp_hash).
	triedAt int
}

var _ agent.Systemd = (*Fake)(nil)

// NewFake returns a Fake with an empty unit directory and no units.
func NewFake() *Fake { return NewFakeWith(Options{}) }

// NewFakeWith returns a Fake whose units behave as o says, beyond what
// their files say.
func NewFakeWith(o Options) *Fake {
	if o.Clock == nil {
		o.Clock = clock.System{}
	}
	if o.Foreign == nil {
		o.Foreign = MachineUnits()
	}
	return &Fake{
		files: map[string][]byte{}, links: map[string]bool{}, enabled: map[string][]string{},
		units: map[string]*fakeUnit{}, calls: map[string]int{}, fail: map[string]error{},
		opts: o, mapped: map[string]bool{},
	}
}

// touch is a change to the search path: its mtime moves on, unless held.
func (f *Fake) touch() {
	if !f.holdMtime {
		f.mtime++
	}
}

// call counts a call and returns the error injected for it, if any.
func (f *Fake) call(method string) error {
	f.calls[method]++
	if err, ok := f.fail[method]; ok {
		delete(f.fail, method)
		return err
	}
	return nil
}

// UnitFiles lists the unit directory with content hashes.
func (f *Fake) UnitFiles(ctx context.Context) (map[string]unit.Hash, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("UnitFiles"); err != nil {
		return nil, err
	}
	out := make(map[string]unit.Hash, len(f.files))
	for name, data := range f.files {
		out[name] = agent.FileHash(data)
	}
	return out, nil
}

// WriteUnitFile writes the file and links it. A new link changes the
// search path's mtime; a unit systemd holds as loaded sees the new
// content only at Reload.
func (f *Fake) WriteUnitFile(ctx context.Context, name string, data []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("WriteUnitFile"); err != nil {
		return err
	}
	if err := unit.ValidateName(name); err != nil {
		return err
	}
	f.files[name] = slices.Clone(data)
	if !f.links[name] {
		f.touch()
	}
	f.links[name] = true
	return nil
}

// WriteUnitFiles writes and links each file, as WriteUnitFile does: one
// call however many files.
func (f *Fake) WriteUnitFiles(ctx context.Context, files []agent.UnitFile) map[string]error {
	f.mu.Lock()
	defer f.mu.Unlock()
	errs := map[string]error{}
	if err := f.call("WriteUnitFiles"); err != nil {
		for _, uf := range files {
			errs[uf.Name] = err
		}
		return errs
	}
	for _, uf := range files {
		if err := unit.ValidateName(uf.Name); err != nil {
			errs[uf.Name] = err
			continue
		}
		f.files[uf.Name] = slices.Clone(uf.Data)
		if !f.links[uf.Name] {
			f.touch()
		}
		f.links[uf.Name] = true
	}
	return errs
}

// RemoveUnitFile unlinks, disables, resets a failed state, deletes.
func (f *Fake) RemoveUnitFile(ctx context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("RemoveUnitFile"); err != nil {
		return err
	}
	if f.links[name] {
		f.touch()
	}
	delete(f.links, name)
	delete(f.enabled, name)
	delete(f.files, name)
	if u := f.units[name]; u != nil && u.status.Active == "failed" {
		f.set(name, u, agent.UnitStatus{Load: u.status.Load, Active: "inactive", Sub: "dead"})
	}
	return nil
}

// Enable records the targets the file's [Install] section names.
func (f *Fake) Enable(ctx context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("Enable"); err != nil {
		return err
	}
	data, ok := f.files[name]
	if !ok {
		return fmt.Errorf("enable %s: unit file does not exist", name)
	}
	if targets := parse(data).wantedBy; len(targets) > 0 {
		f.enabled[name] = targets
	}
	return nil
}

// Reload loads every linked file; a unit whose file went is forgotten, or
// kept as not-found while it runs or failed, as systemd does.
func (f *Fake) Reload(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("Reload"); err != nil {
		return err
	}
	f.mapped, f.mapAt = maps.Clone(f.links), f.mtime
	names := slices.Collect(maps.Keys(f.units))
	for n := range f.links {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range slices.Compact(names) {
		data, present := f.files[name]
		u := f.units[name]
		switch {
		case f.links[name] && present:
			if u == nil {
				u = &fakeUnit{status: agent.UnitStatus{Active: "inactive", Sub: "dead"}}
				f.units[name] = u
			}
			u.def = slices.Clone(data)
			st := u.status
			st.Load = loadState(name, data)
			f.set(name, u, st)
		case u == nil:
		case u.status.Active == "inactive":
			delete(f.units, name)
			f.signal(name)
		default:
			st := u.status
			st.Load = "not-found"
			u.triedAt = f.mapAt
			f.set(name, u, st)
		}
	}
	for name, u := range f.units {
		u.wants = nil
		for svc, targets := range f.enabled {
			if slices.Contains(targets, name) {
				u.wants = append(u.wants, svc)
			}
		}
	}
	return nil
}

// Load loads the units systemd does not hold, or holds as not-found and
// may look up again, and reports their states; it refuses templates.
func (f *Fake) Load(ctx context.Context, names []string) (map[string]agent.UnitStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("Load"); err != nil {
		return nil, err
	}
	out := make(map[string]agent.UnitStatus, len(names))
	for _, name := range names {
		if unit.IsTemplate(name) {
			return nil, fmt.Errorf("load units: Unit name %s is missing the instance name", name)
		}
		f.load(name)
		out[name] = f.statusLocked(name)
	}
	return out, nil
}

// load is systemd's load of a unit on reference. A unit it holds stays as
// it is, unless it holds it as not-found and may retry
// (manager_unit_cache_should_retry_load: the map was rebuilt since the
// unit was looked for, or the search path changed since the map was
// built). Otherwise the map is rebuilt if the search path changed, and
// the unit is read from its file if the map has it, else held as
// not-found (kept even when nothing refers to it, as if pinned: the
// stricter choice).
func (f *Fake) load(name string) {
	u := f.units[name]
	if u != nil && (u.status.Load != "not-found" || (u.triedAt == f.mapAt && f.mtime == f.mapAt)) {
		return
	}
	if f.mtime != f.mapAt {
		f.mapped, f.mapAt = maps.Clone(f.links), f.mtime
	}
	if u == nil {
		u = &fakeUnit{status: agent.UnitStatus{Active: "inactive", Sub: "dead"}}
		f.units[name] = u
	}
	st := u.status
	if data, present := f.files[name]; f.mapped[name] && present {
		u.def = slices.Clone(data)
		st.Load = loadState(name, data)
	} else {
		st.Load = "not-found"
		u.triedAt = f.mapAt
	}
	f.set(name, u, st)
}

// NeedReload is systemd's NeedDaemonReload: a unit it holds as loaded
// whose file changed or went since it was loaded (systemd compares the
// file's mtime; the Fake, its content).
func (f *Fake) NeedReload(ctx context.Context, names []string) (map[string]bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("NeedReload"); err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(names))
	for _, name := range names {
		u := f.units[name]
		if u == nil || u.status.Load == "not-found" {
			out[name] = false
			continue
		}
		data, ok := f.files[name]
		out[name] = !ok || !f.links[name] || !bytes.Equal(data, u.def)
	}
	return out, nil
}

// Units reports the units' states; it refuses templates, as systemd does.
// It loads nothing (see Fake).
func (f *Fake) Units(ctx context.Context, names []string) (map[string]agent.UnitStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("Units"); err != nil {
		return nil, err
	}
	out := make(map[string]agent.UnitStatus, len(names))
	for _, name := range names {
		if unit.IsTemplate(name) {
			return nil, fmt.Errorf("list units: Unit name %s is not valid", name)
		}
		out[name] = f.statusLocked(name)
	}
	return out, nil
}

func (f *Fake) statusLocked(name string) agent.UnitStatus {
	if u := f.units[name]; u != nil {
		return u.status
	}
	return agent.UnitStatus{Load: "not-found", Active: "inactive", Sub: "dead"}
}

// Start runs the unit's job (see behave for what it does): at once, or
// after Options.StartDelay, during which the unit is activating.
func (f *Fake) Start(ctx context.Context, name string) error {
	done, err := f.begin(name)
	if done == nil {
		return err
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("start %s: %w", name, ctx.Err())
	}
}

// begin starts name's job: it returns the job's end if it takes
// StartDelay, else its result.
func (f *Fake) begin(name string) (<-chan error, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("Start"); err != nil {
		return nil, err
	}
	u, err := f.startable(name)
	if err != nil || u == nil {
		return nil, err
	}
	if f.opts.StartDelay <= 0 {
		return nil, f.finish(name, u)
	}
	f.set(name, u, agent.UnitStatus{Load: u.status.Load, Active: "activating", Sub: "start"})
	// The job goes on when its caller stops waiting, as systemd's does.
	done := make(chan error, 1)
	wait := f.opts.Clock.After(f.opts.StartDelay)
	go func() {
		<-wait
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.units[name] != u || u.status.Active != "activating" {
			// Stopped (or gone) meanwhile: systemd cancels the start job.
			done <- fmt.Errorf("start %s: job canceled: %w", name, agent.ErrJobFailed)
			return
		}
		done <- f.finish(name, u)
	}()
	return done, nil
}

// start runs name's job at once: a target's wanted units start this way.
func (f *Fake) start(name string) error {
	u, err := f.startable(name)
	if err != nil || u == nil {
		return err
	}
	return f.finish(name, u)
}

// startable returns the unit to start, nil if it runs already, or why it
// cannot start.
func (f *Fake) startable(name string) (*fakeUnit, error) {
	if unit.IsTemplate(name) {
		return nil, fmt.Errorf("start %s: Unit name %s is missing the instance name", name, name)
	}
	f.load(name)
	u := f.units[name]
	if u == nil || u.status.Load == "not-found" {
		return nil, fmt.Errorf("start %s: Unit %s not found", name, name)
	}
	if u.status.Load != "loaded" {
		return nil, fmt.Errorf("start %s: Unit %s has a bad unit file setting", name, name)
	}
	switch u.status.Active {
	case "active", "activating", "reloading":
		return nil, nil
	}
	return u, nil
}

// finish ends a start job: the state the unit reaches, its wanted units.
func (f *Fake) finish(name string, u *fakeUnit) error {
	st, jobOK := behave(name, u.def)
	if f.opts.fails(name) {
		st, jobOK = agent.UnitStatus{Load: "loaded", Active: "failed", Sub: "failed"}, false
	}
	f.set(name, u, st)
	for _, w := range u.wants {
		_ = f.start(w) // Wants=: a wanted unit that fails does not fail the target
	}
	if !jobOK {
		return fmt.Errorf("start %s: job failed: %w", name, agent.ErrJobFailed)
	}
	return nil
}

// Stop stops the unit; a failed unit stays failed, as in systemd.
func (f *Fake) Stop(ctx context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("Stop"); err != nil {
		return err
	}
	u := f.units[name]
	if u == nil || u.status.Active == "failed" || u.status.Active == "inactive" {
		return nil
	}
	f.set(name, u, agent.UnitStatus{Load: u.status.Load, Active: "inactive", Sub: "dead"})
	if u.status.Load == "not-found" {
		delete(f.units, name) // nothing keeps it loaded any more
	}
	return nil
}

// set changes a unit's state and signals it when it changed.
func (f *Fake) set(name string, u *fakeUnit, st agent.UnitStatus) {
	if u.status != st {
		u.status = st
		f.signal(name)
	}
}

// Foreign reports the names Options.Foreign gives files, whatever the
// unit directory holds: a file of someone else's stays theirs.
func (f *Fake) Foreign(ctx context.Context, names []string) (map[string]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("Foreign"); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, n := range names {
		if p, ok := f.opts.foreign(n); ok {
			out[n] = p
		}
	}
	return out, ctx.Err()
}

// Fail injects err as the result of the next call of method ("Reload",
// "Start", ...).
func (f *Fake) Fail(method string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[method] = err
}

// ErrInjected is a convenient error to inject with Fail.
var ErrInjected = errors.New("injected failure")
