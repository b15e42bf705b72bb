package systemdtest

import (
	"context"
	"maps"
	"slices"

	"github.com/flota-dev/flota/agent"
)

// What tests read of a Fake and do to it behind the Agent's back.

// Calls is how many times method was called.
func (f *Fake) Calls(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[method]
}

// Status is systemd's view of name.
func (f *Fake) Status(name string) agent.UnitStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.statusLocked(name)
}

// File returns name's file in the unit directory.
func (f *Fake) File(name string) ([]byte, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	data, ok := f.files[name]
	return slices.Clone(data), ok
}

// Files lists the unit directory, sorted.
func (f *Fake) Files() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Sorted(maps.Keys(f.files))
}

// Linked reports whether name is linked into systemd's search path.
func (f *Fake) Linked(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.links[name]
}

// Enabled reports the targets name's [Install] section hooked it into.
func (f *Fake) Enabled(name string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.enabled[name])
}

// Crash makes a running unit's process die: it fails, as systemd reports a
// main process that exited with an error.
func (f *Fake) Crash(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if u := f.units[name]; u != nil {
		f.set(name, u, agent.UnitStatus{Load: u.status.Load, Active: "failed", Sub: "failed"})
	}
}

// StopByHand stops a unit as `systemctl stop` would, behind the Agent.
func (f *Fake) StopByHand(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if u := f.units[name]; u != nil && u.status.Active != "failed" {
		f.set(name, u, agent.UnitStatus{Load: u.status.Load, Active: "inactive", Sub: "dead"})
	}
}

// DeleteFile removes a unit file by hand; systemd notices at its next
// reload.
func (f *Fake) DeleteFile(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.files, name)
}

// ReloadByHand is a daemon-reload someone else ran (not counted in Calls).
func (f *Fake) ReloadByHand() {
	f.mu.Lock()
	calls := f.calls["Reload"]
	f.mu.Unlock()
	_ = f.Reload(context.Background())
	f.mu.Lock()
	f.calls["Reload"] = calls
	f.mu.Unlock()
}

// Reboot is what a reboot does to /run: the unit directory, the links and
// every unit are gone (the Agent's memory too, in a real reboot).
func (f *Fake) Reboot() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for name := range f.units {
		f.signal(name)
	}
	f.files, f.links, f.enabled, f.units = map[string][]byte{}, map[string]bool{}, map[string][]string{}, map[string]*fakeUnit{}
	f.mapped, f.mapAt = map[string]bool{}, f.mtime // a new systemd maps the search path as it boots
}

// HoldMtime, while on, leaves the search path's mtime as it is at links
// and unlinks: as when they fall in the tick of the kernel's coarse clock
// in which systemd last built its map of unit files, so that systemd does
// not look again and a new unit stays not-found until a reload.
func (f *Fake) HoldMtime(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.holdMtime = on
}
