package agent_test

import (
	"bytes"
	"context"
	"crypto/sha1"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	sdunit "github.com/coreos/go-systemd/v22/unit"

	"github.com/flota-dev/flota/agent"
	"github.com/flota-dev/flota/agent/runtime"
	"github.com/flota-dev/flota/agent/systemd/systemdtest"
	"github.com/flota-dev/flota/reason"
	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/unit"
)

// fakeRuntime plays agent/runtime.Runtime: it keeps a snapshot per unit
// (reused by a second Prepare, as the real one does when the layer is the
// same) and records what was made, removed and kept.
type fakeRuntime struct {
	mu       sync.Mutex
	snaps    map[string]bool // unit -> has a snapshot
	prepared []string
	removed  []string
	kept     []string
	fail     error // Prepare fails with it, leaving nothing
	swept    []string
	sweeps   int
	// absent images are not on the machine until pulled; a pull waits
	// for gate (when set) and fails with pullErr (when set).
	absent  map[string]bool
	gate    chan struct{}
	pullErr error
	pulled  []string
}

func newFakeRuntime() *fakeRuntime { return &fakeRuntime{snaps: map[string]bool{}} }

func (f *fakeRuntime) Prepare(ctx context.Context, name string, file *unit.File) ([]*sdunit.UnitOption, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if file.Container == nil {
		return nil, errors.New("fake runtime: not a container unit")
	}
	if f.fail != nil {
		return nil, f.fail
	}
	f.snaps[name] = true
	f.prepared = append(f.prepared, name)
	var out []*sdunit.UnitOption
	for _, o := range file.Options {
		if o.Section == "Service" && o.Name == "ExecStart" {
			o = sdunit.NewUnitOption("Service", "ExecStart", "/usr/bin/systemd-nspawn --directory=/snap/"+name+" -- "+o.Value)
		}
		out = append(out, o)
	}
	return append(out, sdunit.NewUnitOption("Service", "Delegate", "yes")), nil
}

func (f *fakeRuntime) Cleanup(ctx context.Context, name string, failed bool) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.snaps[name] {
		return "", nil
	}
	delete(f.snaps, name)
	if failed {
		f.kept = append(f.kept, name)
		return "/failed/" + name, nil
	}
	f.removed = append(f.removed, name)
	return "", nil
}

// Sweep removes the snapshots of units not in units, as the real one does
// with those a crash orphaned.
func (f *fakeRuntime) Sweep(ctx context.Context, units []string, now time.Time) (runtime.Swept, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var sw runtime.Swept
	for name := range f.snaps {
		if !slices.Contains(units, name) {
			delete(f.snaps, name)
			f.swept = append(f.swept, name)
			sw.Tasks = append(sw.Tasks, runtime.Key(name))
		}
	}
	f.sweeps++
	return sw, nil
}

func (f *fakeRuntime) Has(ctx context.Context, img string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return !f.absent[img], nil
}

func (f *fakeRuntime) Pull(ctx context.Context, img string, progress func(runtime.PullProgress)) error {
	f.mu.Lock()
	gate := f.gate
	f.mu.Unlock()
	if gate != nil {
		progress(runtime.PullProgress{Layer: 2, Layers: 3, Bytes: 5 << 20}) // how far a slow download got
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pulled = append(f.pulled, img)
	if f.pullErr != nil {
		return f.pullErr
	}
	delete(f.absent, img)
	return nil
}

func (f *fakeRuntime) setFail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = err
}

func (f *fakeRuntime) state() (snaps map[string]bool, prepared, removed, kept []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.snaps), append([]string(nil), f.prepared...), append([]string(nil), f.removed...), append([]string(nil), f.kept...)
}

// addContainer stores a container unit running exec in image img.
func (f *files) addContainer(exec, img string) unit.Hash {
	data := []byte("[Service]\nExecStart=" + exec + "\n\n[X-Container]\nImage=" + img + "\n")
	h := unit.Hash(sha1.Sum(data))
	f.mu.Lock()
	defer f.mu.Unlock()
	f.byH[h] = data
	return h
}

func newContainerRig(t *testing.T, rt agent.ContainerRuntime) *rig {
	r := &rig{fake: systemdtest.NewFake(), src: newSource(), files: newFiles(), rt: rt}
	r.start(t)
	return r
}

func TestContainerUnitRunsTheRuntimesRewrite(t *testing.T) {
	rt := newFakeRuntime()
	r := newContainerRig(t, rt)
	h := r.files.addContainer("/app/web", "web:1")
	r.src.set(launched("web.service", h))
	s := r.published(t, "web.service", isLaunched)
	if s.Hash != h {
		t.Errorf("published hash %s, want the placed file's %s", s.Hash.Short(), h.Short())
	}
	data, _ := r.fake.File("web.service")
	if !bytes.HasPrefix(data, []byte(agent.SourceHashPrefix+h.String()+"\n")) || !bytes.Contains(data, []byte("systemd-nspawn --directory=/snap/web.service -- /app/web")) {
		t.Fatalf("written file:\n%s", data)
	}
	if snaps, _, _, _ := rt.state(); !snaps["web.service"] {
		t.Fatal("no snapshot")
	}

	// The file on disk stands for the placed hash: a restarted agent does nothing.
	r.stop()
	before := calls(r.fake)
	r.start(t)
	r.published(t, "web.service", isLaunched)
	time.Sleep(50 * time.Millisecond)
	if after := calls(r.fake); !maps.Equal(before, after) {
		t.Errorf("a restarted agent acted: calls %v, then %v", before, after)
	}
	if _, prepared, _, _ := rt.state(); len(prepared) != 1 {
		t.Errorf("prepared %v, want once", prepared)
	}

	// A new version: the old task's snapshot goes, a new one is made.
	h2 := r.files.addContainer("/app/web --v2", "web:2")
	r.src.set(launched("web.service", h2))
	r.published(t, "web.service", func(s registry.UnitState) bool { return isLaunched(s) && s.Hash == h2 })
	if snaps, prepared, removed, _ := rt.state(); len(prepared) != 2 || len(removed) != 1 || !snaps["web.service"] {
		t.Errorf("after a replace: snaps %v, prepared %v, removed %v", snaps, prepared, removed)
	}

	// It leaves: stopped, removed, its snapshot deleted.
	r.src.set(gone("web.service"))
	eventually(t, "the snapshot is removed", func() bool {
		snaps, _, _, _ := rt.state()
		return len(snaps) == 0
	})
	if _, ok := r.fake.File("web.service"); ok {
		t.Error("file left behind")
	}
	if _, _, removed, kept := rt.state(); len(removed) != 2 || len(kept) != 0 {
		t.Errorf("removed %v, kept %v", removed, kept)
	}
}

func TestContainerFailedUnitKeepsItsSnapshot(t *testing.T) {
	rt := newFakeRuntime()
	r := newContainerRig(t, rt)
	h := r.files.addContainer("/app/web", "web:1")
	r.src.set(launched("web.service", h))
	r.published(t, "web.service", isLaunched)
	r.fake.Crash("web.service")
	r.published(t, "web.service", func(s registry.UnitState) bool { return s.Active == "failed" })
	r.src.set(gone("web.service"))
	eventually(t, "the snapshot is kept", func() bool {
		_, _, _, kept := rt.state()
		return len(kept) == 1
	})
	if snaps, _, removed, _ := rt.state(); len(snaps) != 0 || len(removed) != 0 {
		t.Errorf("snaps %v, removed %v", snaps, removed)
	}
}

func TestContainerSweeps(t *testing.T) {
	rt := newFakeRuntime()
	rt.snaps["old.service"] = true // left by a crash: no unit has it
	r := newContainerRig(t, rt)
	h := r.files.addContainer("/app/web", "web:1")
	r.src.set(launched("web.service", h))
	r.published(t, "web.service", isLaunched)
	eventually(t, "the orphaned snapshot is swept", func() bool {
		rt.mu.Lock()
		defer rt.mu.Unlock()
		return slices.Equal(rt.swept, []string{"old.service"})
	})
	if snaps, _, _, _ := rt.state(); !snaps["web.service"] {
		t.Fatal("the sweep took the placed unit's snapshot")
	}
	rt.mu.Lock()
	before := rt.sweeps
	rt.mu.Unlock()
	// A unit leaving may leave its image unused: the store is swept.
	r.src.set(gone("web.service"))
	eventually(t, "a sweep after the unit left", func() bool {
		rt.mu.Lock()
		defer rt.mu.Unlock()
		return rt.sweeps > before && len(rt.snaps) == 0
	})
}

func TestContainerImagePulledInBackground(t *testing.T) {
	rt := newFakeRuntime()
	rt.absent = map[string]bool{"big:1": true}
	rt.gate = make(chan struct{})
	r := newContainerRig(t, rt)
	big := r.files.addContainer("/app/big", "big:1")
	small := r.files.addContainer("/app/small", "small:1")
	r.src.set(launched("big.service", big), launched("small.service", small))
	// The small one runs while the big image is still on its way.
	r.published(t, "small.service", isLaunched)
	r.published(t, "big.service", func(s registry.UnitState) bool {
		return s.Condition == reason.ConditionPullingImage && strings.HasPrefix(s.Detail, "big:1") && s.Load == "not-found" && s.Active == "inactive"
	})
	// How far the pull is comes within a pass or two (one every 2 s while
	// it runs).
	r.published(t, "big.service", func(s registry.UnitState) bool {
		return s.Condition == reason.ConditionPullingImage && s.Detail == "big:1 (layer 2 of 3, 5 MiB received)"
	})
	if _, ok := r.fake.File("big.service"); ok {
		t.Fatal("big.service written before its image arrived")
	}
	close(rt.gate)
	r.published(t, "big.service", isLaunched)
	if _, prepared, _, _ := rt.state(); !slices.Contains(prepared, "big.service") {
		t.Errorf("prepared %v", prepared)
	}
}

func TestContainerNewVersionRunsTheOldUntilItsImageArrives(t *testing.T) {
	rt := newFakeRuntime()
	r := newContainerRig(t, rt)
	h1 := r.files.addContainer("/app/web", "web:1")
	r.src.set(launched("web.service", h1))
	r.published(t, "web.service", isLaunched)
	rt.mu.Lock()
	rt.absent = map[string]bool{"web:2": true}
	rt.gate = make(chan struct{})
	rt.mu.Unlock()
	h2 := r.files.addContainer("/app/web --v2", "web:2")
	r.src.set(launched("web.service", h2))
	eventually(t, "the pull starts", func() bool {
		rt.mu.Lock()
		defer rt.mu.Unlock()
		return rt.absent["web:2"] // still absent: the fake pull waits on the gate
	})
	time.Sleep(100 * time.Millisecond)
	if st, _ := r.fake.Units(context.Background(), []string{"web.service"}); st["web.service"].Active != "active" {
		t.Fatalf("old version %v while the new image is pulled, want active", st["web.service"])
	}
	if data, _ := r.fake.File("web.service"); !bytes.Contains(data, []byte(h1.String())) {
		t.Fatalf("the old version's file was replaced before the new image arrived:\n%s", data)
	}
	close(rt.gate)
	r.published(t, "web.service", func(s registry.UnitState) bool { return isLaunched(s) && s.Hash == h2 })
}

func TestContainerImagePullFailsThenHeals(t *testing.T) {
	rt := newFakeRuntime()
	rt.absent = map[string]bool{"web:9": true}
	rt.pullErr = errors.New("source unreachable")
	r := newContainerRig(t, rt)
	h := r.files.addContainer("/app/web", "web:9")
	r.src.set(launched("web.service", h))
	r.published(t, "web.service", func(s registry.UnitState) bool {
		return s.Condition == reason.ConditionImagePullFailed && strings.Contains(s.Detail, "source unreachable")
	})
	rt.mu.Lock()
	rt.pullErr = nil
	rt.mu.Unlock()
	r.published(t, "web.service", isLaunched) // the retry pulls again
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if len(rt.pulled) < 2 {
		t.Errorf("pulled %v, want a failed pull then another", rt.pulled)
	}
}

func TestContainerUnitWithoutRuntime(t *testing.T) {
	r := newContainerRig(t, nil)
	hc := r.files.addContainer("/app/web", "web:1")
	hp := r.files.add("/bin/sleep 3600")
	r.src.set(launched("web.service", hc), launched("plain.service", hp))
	r.published(t, "plain.service", isLaunched)
	s := r.published(t, "web.service", func(s registry.UnitState) bool { return s.Condition == reason.ConditionNoContainerRuntime })
	if s.Load != "not-found" || s.Active != "inactive" || s.Sub != "dead" || s.State != registry.StateInactive {
		t.Errorf("row %+v", s)
	}
	if _, ok := r.fake.File("web.service"); ok {
		t.Error("a container unit was written on a machine without containers")
	}
	// It leaves: the row goes.
	r.src.set(gone("web.service"))
	eventually(t, "the row is deleted", func() bool { _, ok := r.pub.row("web.service"); return !ok })
}

func TestContainerPrepareFailsThenHeals(t *testing.T) {
	rt := newFakeRuntime()
	rt.setFail(errors.New("image web:1 not found"))
	r := newContainerRig(t, rt)
	h := r.files.addContainer("/app/web", "web:1")
	r.src.set(launched("web.service", h))
	r.published(t, "web.service", func(s registry.UnitState) bool {
		return s.Condition == reason.ConditionContainerFailed && strings.Contains(s.Detail, "image web:1 not found")
	})
	if _, ok := r.fake.File("web.service"); ok {
		t.Fatal("written though Prepare failed")
	}
	rt.setFail(nil) // the image appeared: the retry (after 1s) runs it
	r.published(t, "web.service", isLaunched)
	data, _ := r.fake.File("web.service")
	if !strings.Contains(string(data), "systemd-nspawn") {
		t.Errorf("written file:\n%s", data)
	}
}

func TestFileHash(t *testing.T) {
	plain := []byte("[Service]\nExecStart=/bin/true\n")
	if got := agent.FileHash(plain); got != unit.Hash(sha1.Sum(plain)) {
		t.Errorf("plain file: %s", got)
	}
	src := unit.Hash(sha1.Sum([]byte("source")))
	rewritten := append([]byte(agent.SourceHashPrefix+src.String()+"\n"), plain...)
	if got := agent.FileHash(rewritten); got != src {
		t.Errorf("rewritten file: %s, want %s", got, src)
	}
	bad := append([]byte(agent.SourceHashPrefix+"zz\n"), plain...)
	if got := agent.FileHash(bad); got != unit.Hash(sha1.Sum(bad)) {
		t.Errorf("bad source line: %s", got)
	}
}

func TestReconcileNoContainers(t *testing.T) {
	data := []byte("[Service]\nExecStart=/app/web\n\n[X-Container]\nImage=web:1\n")
	h := unit.Hash(sha1.Sum(data))
	in := agent.Input{
		Desired:      map[string]registry.Placement{"web.service": launched("web.service", h)},
		Files:        map[unit.Hash][]byte{h: data},
		NoContainers: true,
	}
	p := agent.Reconcile(in)
	if len(p.Write)+len(p.Start) != 0 || len(p.Unrunnable) != 1 {
		t.Errorf("plan %+v: want web.service unrunnable, not written", p)
	}
	in.NoContainers = false
	f, err := unit.Parse("web.service", data)
	if err != nil {
		t.Fatal(err)
	}
	in.Containers = map[string]agent.Container{"web.service": {File: f}}
	in.Images = map[string]agent.Image{"web:1": {Ready: true}}
	if p := agent.Reconcile(in); len(p.Write) != 1 || p.Write[0].Container != f || len(p.Unrunnable) != 0 {
		t.Errorf("plan with a runtime %+v", p)
	}
}

// TestReconcileContainers: the pure reconcile decides what a container
// unit waits for, from the parsed file and the image's state it is given:
// the pull to start, the condition to publish, and that nothing of the
// unit is touched meanwhile (an old version runs on).
func TestReconcileContainers(t *testing.T) {
	data := []byte("[Service]\nExecStart=/app/web\n\n[X-Container]\nImage=web:1\n")
	h := unit.Hash(sha1.Sum(data))
	f, err := unit.Parse("web.service", data)
	if err != nil {
		t.Fatal(err)
	}
	old := unit.Hash(sha1.Sum([]byte("old")))
	running := map[string]agent.UnitStatus{"web.service": {Load: "loaded", Active: "active", Sub: "running"}}
	for _, tt := range []struct {
		name    string
		c       agent.Container
		img     agent.Image
		onDisk  map[string]unit.Hash
		units   map[string]agent.UnitStatus
		pull    []string
		hold    map[string]agent.Hold
		written bool
	}{
		{name: "its image is here: written", c: agent.Container{File: f}, img: agent.Image{Ready: true}, written: true},
		{name: "its image is not: pulled, and it says so", c: agent.Container{File: f}, img: agent.Image{},
			pull: []string{"web:1"}, hold: map[string]agent.Hold{"web.service": {Condition: reason.ConditionPullingImage, Detail: "web:1"}}},
		{name: "a pull runs: not started again", c: agent.Container{File: f}, img: agent.Image{Pulling: true},
			hold: map[string]agent.Hold{"web.service": {Condition: reason.ConditionPullingImage, Detail: "web:1"}}},
		{name: "the pull failed", c: agent.Container{File: f}, img: agent.Image{Err: errors.New("tag web:1: not found")},
			hold: map[string]agent.Hold{"web.service": {Condition: reason.ConditionImagePullFailed, Detail: "tag web:1: not found"}}},
		{name: "a file the runtime cannot read", c: agent.Container{Err: errors.New("Volume=: bad")},
			hold: map[string]agent.Hold{"web.service": {Condition: reason.ConditionContainerFailed, Detail: "Volume=: bad"}}},
		{name: "a new version waits for its image, the old one runs on, unsaid", c: agent.Container{File: f}, img: agent.Image{},
			onDisk: map[string]unit.Hash{"web.service": old}, units: running, pull: []string{"web:1"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := agent.Input{
				Desired:    map[string]registry.Placement{"web.service": launched("web.service", h)},
				Files:      map[unit.Hash][]byte{h: data},
				OnDisk:     tt.onDisk,
				Units:      tt.units,
				Containers: map[string]agent.Container{"web.service": tt.c},
				Images:     map[string]agent.Image{"web:1": tt.img},
			}
			p := agent.Reconcile(in)
			if written := len(p.Write) == 1; written != tt.written || !tt.written && len(p.Stop)+len(p.Remove)+len(p.Start) != 0 {
				t.Errorf("plan %+v: written %v, want %v, and nothing else done to the unit while it waits", p, written, tt.written)
			}
			if !slices.Equal(p.Pull, tt.pull) || !maps.Equal(p.Hold, tt.hold) {
				t.Errorf("pull %q, hold %v; want %q, %v", p.Pull, p.Hold, tt.pull, tt.hold)
			}
		})
	}
}
