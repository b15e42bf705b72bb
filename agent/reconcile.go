package agent

import (
	"bytes"
	"fmt"
	"maps"
	"slices"

	sdunit "github.com/coreos/go-systemd/v22/unit"

	"github.com/flota-dev/flota/reason"
	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/unit"
)

// Input is what one reconcile pass sees.
type Input struct {
	Desired map[string]registry.Placement // this machine's Placements, by unit
	Files   map[unit.Hash][]byte          // unit files fetched so far, by hash
	OnDisk  map[string]unit.Hash          // the agent's unit directory
	Units   map[string]UnitStatus         // systemd's view; a missing name is not-found
	Memory  Memory
	// NoContainers: this machine has no ContainerRuntime, so a unit whose
	// file has an [X-Container] section is not written (see Plan.Unrunnable).
	NoContainers bool
	// Stale are units whose file is what was placed but systemd holds an
	// older definition of (NeedDaemonReload): the Agent stopped between a
	// write and its reload. Asked once, when the Agent starts.
	Stale map[string]bool
	// Fenced are units that must not run now, whatever their Placement
	// says: they stop on disconnect and this machine may be losing its
	// lease. They are stopped and forgotten as started, so that they start
	// again once the fence is lifted.
	Fenced map[string]bool
	// Containers are the placed units whose file has an [X-Container]
	// section, by name: parsed and checked once, or why they do not parse.
	Containers map[string]Container
	// Images are the images those containers name: on the machine, being
	// pulled, or their last pull failed.
	Images map[string]Image
}

// Container is a placed container unit's file, parsed and checked (File),
// or why it could not be (Err).
type Container struct {
	File *unit.File
	Err  error
}

// Image is what the machine has of an image.
type Image struct {
	Ready   bool  // on the machine
	Pulling bool  // a pull of it runs: of Layer (1-based) of Layers, Bytes received
	Err     error // its last pull failed (Ready and Pulling false)

	Layer, Layers int
	Bytes         int64
}

// pullDetail says what a unit waiting for image ref waits on: the image,
// and how far its pull is.
func pullDetail(ref string, img Image) string {
	if !img.Pulling || img.Layers == 0 {
		return ref
	}
	return fmt.Sprintf("%s (layer %d of %d, %s received)", ref, img.Layer, img.Layers, reason.FormatBytes(uint64(img.Bytes)))
}

// Hold is why a placed unit is held back from systemd, published beside
// systemd's view of it: a reason.Condition and its detail.
type Hold struct {
	Condition reason.Condition
	Detail    string
}

// Memory is what the Agent remembers of its own actions, so that it does
// not repeat them in a loop: whether a unit that stopped or failed runs
// again is the business of its Restart= policy, not the Agent's.
type Memory struct {
	// Started is the hash each unit was last started at, or seen running
	// at. A launched unit is started again only for another hash or a new
	// Placement (its entry goes when the unit is loaded or leaves).
	Started map[string]unit.Hash
	// Relinked is the hash of units written again because systemd did not
	// know them though their file was there; that is not retried for the
	// same hash until systemd has loaded the unit once.
	Relinked map[string]unit.Hash
}

func (m Memory) clone() Memory {
	out := Memory{Started: maps.Clone(m.Started), Relinked: maps.Clone(m.Relinked)}
	if out.Started == nil {
		out.Started = map[string]unit.Hash{}
	}
	if out.Relinked == nil {
		out.Relinked = map[string]unit.Hash{}
	}
	return out
}

// Write is a unit file to write and link; for a container unit, its file
// parsed (the runtime rewrites it into systemd-nspawn's).
type Write struct {
	Name      string
	Hash      unit.Hash
	Data      []byte
	Container *unit.File
}

// Plan is what to do, in this order: Stop, Remove, Write, Enable, Load
// or Reload, Start. Memory is what the Agent remembers once the plan is
// carried out.
//
// A daemon-reload costs systemd ~80 ms (it rereads every unit), about
// four times a start, so a plan reloads only for what systemd cannot take
// otherwise (ReloadFor), once however many units need it. A new unit
// needs none: systemd reads a unit it does not hold from its file at the
// first reference (Load), and since v246 looks again for a unit it holds
// as not-found once its search path changed, which the new link does.
type Plan struct {
	Stop   []string
	Remove []string // disable, unlink and delete: units that left, and old versions
	Write  []Write
	Enable []string // written units with an [Install] section
	// Reload is one daemon-reload after the writes, for the reasons in
	// ReloadFor (by unit).
	Reload    bool
	ReloadFor map[string]ReloadWhy
	// Load, when there is no Reload, is the units to have systemd load
	// after the writes and removals: the written units it did not hold and
	// the removed ones it did. Check is the rewritten ones among them
	// (systemd did not hold the old version, but may have loaded it since
	// the plan was made), whose NeedDaemonReload is asked. Reloads says,
	// from what systemd answers, whether a reload is needed after all.
	Load  []string
	Check []string
	Start []string
	// Fetch lists files needed to write units; their units are left alone
	// in this plan: fetch them and reconcile again.
	Fetch []unit.Hash
	// Templates are placed templates, which are never written or started
	// (systemd refuses them, and one wedged fleet's agent for good).
	Templates []string
	// Unrunnable are container units placed on a machine without a
	// container runtime: like a unit that left, they are stopped and
	// removed if there, and never written.
	Unrunnable []string
	// Hold are the container units left alone this pass, and why: a file
	// the runtime cannot read, an image being pulled (or to pull: Pull),
	// an image whose pull failed. A new version's old one, if it runs,
	// keeps running meanwhile, and is not in Hold while it only waits for
	// its image (nothing to say: it runs).
	Hold map[string]Hold
	// Pull are the images to start pulling.
	Pull   []string
	Memory Memory
}

// ReloadWhy is why a unit needs a daemon-reload.
type ReloadWhy string

const (
	// ReloadChanged: a new file for a unit systemd holds, which keeps its
	// old definition until a reload (its NeedDaemonReload is yes).
	ReloadChanged ReloadWhy = "changed"
	// ReloadInstall: the unit was enabled; a target systemd holds learns
	// its new [Install] dependencies only at a reload.
	ReloadInstall ReloadWhy = "install"
	// ReloadNotFound: loaded after its file was linked, the unit is still
	// not-found: systemd's map of unit files is older than the link (it
	// looks again only when the search path's mtime changed, and two
	// changes within one tick of the kernel's coarse clock look like one).
	ReloadNotFound ReloadWhy = "not-found"
	// ReloadHeld: its file was removed, and systemd still holds the unit
	// (something refers to it), with the definition of a file that is gone.
	ReloadHeld ReloadWhy = "held"
	// ReloadStale: systemd holds a definition older than the unit's file
	// (its NeedDaemonReload is yes).
	ReloadStale ReloadWhy = "stale"
)

// Empty reports whether the plan changes nothing on the machine.
func (p Plan) Empty() bool {
	return len(p.Stop)+len(p.Remove)+len(p.Write)+len(p.Enable)+len(p.Start)+len(p.Hold)+len(p.Pull) == 0 && !p.Reload
}

// reloadFor records that name needs a reload, and why.
func (p *Plan) reloadFor(name string, why ReloadWhy) {
	if p.ReloadFor == nil {
		p.ReloadFor = map[string]ReloadWhy{}
	}
	p.ReloadFor[name] = why
	p.Reload = true
}

// held reports whether systemd holds a unit: loaded, or loaded with an
// error, but not a name it found no file for.
func held(st UnitStatus) bool { return st.Load != "not-found" }

// Reloads says which units of a plan without a Reload need one after all,
// from what systemd answered to Load (st) and to NeedReload of Check
// (need): a written unit it still did not find, a rewritten one whose old
// definition it holds, a removed unit it still holds. Pure, as Reconcile.
func (p Plan) Reloads(st map[string]UnitStatus, need map[string]bool) map[string]ReloadWhy {
	written := make(map[string]bool, len(p.Write))
	for _, w := range p.Write {
		written[w.Name] = true
	}
	out := map[string]ReloadWhy{}
	for _, name := range p.Load {
		s, ok := st[name]
		if !ok {
			s = notFound
		}
		switch {
		case written[name] && !held(s):
			out[name] = ReloadNotFound
		case written[name] && need[name]:
			out[name] = ReloadChanged
		case !written[name] && held(s):
			out[name] = ReloadHeld
		}
	}
	return out
}

// settle decides, once every unit is planned, between one Reload and
// loading the units one by one.
func (p *Plan) settle(removedHeld []string) {
	if p.Reload {
		p.Check = nil
		return // the reload rereads everything systemd holds
	}
	for _, w := range p.Write {
		p.Load = append(p.Load, w.Name)
	}
	p.Load = append(p.Load, removedHeld...)
}

// Reconcile decides what brings systemd to the desired Placements. It is
// pure: the Agent gathers Input, calls it, and carries the Plan out.
func Reconcile(in Input) Plan {
	p := Plan{Memory: in.Memory.clone()}
	var removedHeld []string // removed files of units systemd holds: loaded again, to see whether it let go
	for _, name := range unitNames(in.Desired, in.OnDisk) {
		pl, want := in.Desired[name]
		st, ok := in.Units[name]
		if !ok {
			st = notFound
		}
		disk, onDisk := in.OnDisk[name]
		if !want || unit.IsTemplate(name) {
			if want {
				p.Templates = append(p.Templates, name)
			}
			if p.leave(name, st, onDisk) && held(st) {
				removedHeld = append(removedHeld, name)
			}
			continue
		}
		if st.Load == "loaded" {
			delete(p.Memory.Relinked, name)
		}
		changed := onDisk && disk != pl.Hash // --replace: a new version
		// lost: systemd no longer has it (reboot, hand-removed file or link).
		lost := !onDisk || (!changed && st.Load == "not-found" && p.Memory.Relinked[name] != pl.Hash)
		if changed || lost {
			data, ok := in.Files[pl.Hash]
			if !ok {
				if !slices.Contains(p.Fetch, pl.Hash) {
					p.Fetch = append(p.Fetch, pl.Hash)
				}
				continue
			}
			if in.NoContainers && isContainer(data) {
				p.Unrunnable = append(p.Unrunnable, name)
				if p.leave(name, st, onDisk) && held(st) {
					removedHeld = append(removedHeld, name)
				}
				continue
			}
			c, container := in.Containers[name]
			if container && p.waits(name, c, in.Images, onDisk) {
				continue // left alone: its old version, if any, runs on
			}
			if changed {
				if running(st) {
					p.Stop = append(p.Stop, name) // under its old definition
				}
				p.Remove = append(p.Remove, name) // drops the old [Install] links too
				if held(st) {
					p.reloadFor(name, ReloadChanged)
				} else {
					p.Check = append(p.Check, name)
				}
			} else if onDisk {
				p.Memory.Relinked[name] = pl.Hash
			}
			p.Write = append(p.Write, Write{Name: name, Hash: pl.Hash, Data: data, Container: c.File})
			if hasInstall(data) {
				p.Enable = append(p.Enable, name)
				p.reloadFor(name, ReloadInstall)
			}
		} else if in.Stale[name] && held(st) {
			p.reloadFor(name, ReloadStale)
		}
		if pl.Desired == registry.StateLaunched && !in.Fenced[name] {
			p.launch(name, pl.Hash, st, changed, lost)
			continue
		}
		// loaded, or fenced (inactive is never placed; it is taken as loaded).
		delete(p.Memory.Started, name)
		if running(st) && !changed {
			p.Stop = append(p.Stop, name)
		}
	}
	p.settle(removedHeld)
	return p
}

// waits decides whether container unit name, to be written, waits: for a
// file the runtime can read, or for its image (pulled first when no pull
// runs), saying why in Hold. A unit whose old version is on disk waits
// for its image in silence: it runs meanwhile.
func (p *Plan) waits(name string, c Container, images map[string]Image, onDisk bool) bool {
	if c.Err != nil {
		p.hold(name, reason.ConditionContainerFailed, c.Err.Error())
		return true
	}
	ref := c.File.Container.Image.String()
	switch img := images[ref]; {
	case img.Ready:
		return false
	case img.Err != nil:
		p.hold(name, reason.ConditionImagePullFailed, img.Err.Error())
	default:
		if !img.Pulling && !slices.Contains(p.Pull, ref) {
			p.Pull = append(p.Pull, ref)
		}
		if !onDisk {
			p.hold(name, reason.ConditionPullingImage, pullDetail(ref, img))
		}
	}
	return true
}

func (p *Plan) hold(name string, c reason.Condition, detail string) {
	if p.Hold == nil {
		p.Hold = map[string]Hold{}
	}
	p.Hold[name] = Hold{Condition: c, Detail: detail}
}

// launch starts a launched unit that does not run, once per hash.
func (p *Plan) launch(name string, h unit.Hash, st UnitStatus, changed, lost bool) {
	switch {
	case changed: // stopped above if it ran: this is the restart
	case running(st):
		p.Memory.Started[name] = h // an Agent restart restarts nothing
		return
	case lost:
	case p.Memory.Started[name] == h:
		return // started it already; it stopped or failed on its own
	}
	p.Start = append(p.Start, name)
	p.Memory.Started[name] = h
}

// leave takes a unit off the machine: stop it, unlink and delete its
// file. It reports whether there is a file to remove.
func (p *Plan) leave(name string, st UnitStatus, onDisk bool) bool {
	if running(st) && !unit.IsTemplate(name) {
		p.Stop = append(p.Stop, name)
	}
	if onDisk {
		p.Remove = append(p.Remove, name)
	}
	delete(p.Memory.Started, name)
	delete(p.Memory.Relinked, name)
	return onDisk
}

// running reports whether systemd runs the unit or is bringing it up
// (auto-restart counts: restarting it is systemd's business).
func running(st UnitStatus) bool {
	switch st.Active {
	case "active", "activating", "reloading", "refreshing":
		return true
	}
	return false
}

// hasInstall reports whether a unit file has an [Install] section.
func hasInstall(data []byte) bool {
	opts, err := sdunit.DeserializeOptions(bytes.NewReader(data))
	if err != nil {
		return false // systemd will say what is wrong with it
	}
	return slices.ContainsFunc(opts, func(o *sdunit.UnitOption) bool { return o.Section == "Install" })
}

// unitNames is every unit desired or on disk, sorted.
func unitNames(desired map[string]registry.Placement, onDisk map[string]unit.Hash) []string {
	names := slices.Collect(maps.Keys(desired))
	for n := range onDisk {
		if _, ok := desired[n]; !ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}
