package agent_test

import (
	"context"
	"crypto/sha1"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/flota-dev/flota/agent"
	"github.com/flota-dev/flota/agent/systemd/systemdtest"
	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/unit"
)

// source plays the Agent's view of its Placements.
type source struct {
	mu      sync.Mutex
	ps      map[string]registry.Placement
	read    bool
	changed chan struct{}
}

func newSource() *source {
	return &source{ps: map[string]registry.Placement{}, changed: make(chan struct{})}
}

func (s *source) snapshot() (map[string]registry.Placement, <-chan struct{}, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.ps), s.changed, s.read
}

// set places (or, with Desired "", removes) units, as one change.
func (s *source) set(ps ...registry.Placement) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range ps {
		if p.Desired == "" {
			delete(s.ps, p.Unit)
		} else {
			s.ps[p.Unit] = p
		}
	}
	s.read = true
	close(s.changed)
	s.changed = make(chan struct{})
}

// files plays the registry's unit files.
type files struct {
	mu    sync.Mutex
	byH   map[unit.Hash][]byte
	reads int
}

func newFiles() *files { return &files{byH: map[unit.Hash][]byte{}} }

// add stores a service running exec and returns its hash.
func (f *files) add(exec string) unit.Hash {
	data := []byte("[Unit]\nDescription=test\n\n[Service]\nExecStart=" + exec + "\n")
	h := unit.Hash(sha1.Sum(data))
	f.mu.Lock()
	defer f.mu.Unlock()
	f.byH[h] = data
	return h
}

// addText stores a unit file as given and returns its hash.
func (f *files) addText(text string) unit.Hash {
	data := []byte(text)
	h := unit.Hash(sha1.Sum(data))
	f.mu.Lock()
	defer f.mu.Unlock()
	f.byH[h] = data
	return h
}

func (f *files) file(ctx context.Context, h unit.Hash) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	data, ok := f.byH[h]
	if !ok {
		return nil, fmt.Errorf("unit file %s: %w", h, registry.ErrNotFound)
	}
	return data, nil
}

// recorder is a Publisher that keeps the rows and counts the writes.
type recorder struct {
	mu        sync.Mutex
	rows      map[string]registry.UnitState
	publishes map[string]int
	deletes   map[string]int
	refused   map[string]string // what the last Refuse said
}

func newRecorder() *recorder {
	return &recorder{rows: map[string]registry.UnitState{}, publishes: map[string]int{}, deletes: map[string]int{}}
}

func (r *recorder) PublishStates(ctx context.Context, machine string, put []registry.UnitState, del []string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range put {
		r.rows[s.Unit] = s
		r.publishes[s.Unit]++
	}
	for _, name := range del {
		delete(r.rows, name)
		r.deletes[name]++
	}
	return nil
}

func (r *recorder) Refuse(ctx context.Context, refused map[string]string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refused = maps.Clone(refused)
	return nil
}

func (r *recorder) refusedOf(name string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.refused[name]
}

func (r *recorder) row(name string) (registry.UnitState, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.rows[name]
	return s, ok
}

func (r *recorder) count(name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.publishes[name]
}

func (r *recorder) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.rows)
}

// rig is the systemd side of an Agent on a Fake.
type rig struct {
	fake  *systemdtest.Fake
	src   *source
	files *files
	pub   *recorder
	units *agent.Units
	rt    agent.ContainerRuntime // nil: no containers
	stop  func()                 // stops the agent (and waits), leaving systemd as it is
}

func newRig(t *testing.T) *rig {
	r := &rig{fake: systemdtest.NewFake(), src: newSource(), files: newFiles()}
	r.start(t)
	return r
}

// start runs a new agent on the rig's systemd, as after an agent restart.
func (r *rig) start(t *testing.T) {
	t.Helper()
	r.pub = newRecorder()
	r.units = agent.NewUnits(r.fake, r.files.file, r.src.snapshot, agent.Config{MachineID: "m1", Debounce: 2 * time.Millisecond, Containers: r.rt}, quiet())
	r.units.SetPublisher(r.pub)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.units.Run(ctx) }()
	var once sync.Once
	r.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != context.Canceled {
				t.Errorf("Run = %v, want context.Canceled", err)
			}
		})
	}
	t.Cleanup(r.stop)
}

// eventually waits until cond holds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// published waits until the row of name satisfies cond.
func (r *rig) published(t *testing.T, name string, cond func(registry.UnitState) bool) registry.UnitState {
	t.Helper()
	var s registry.UnitState
	eventually(t, "the row of "+name+" is as wanted", func() bool {
		var ok bool
		s, ok = r.pub.row(name)
		return ok && cond(s)
	})
	return s
}

func isLaunched(s registry.UnitState) bool {
	return s.State == registry.StateLaunched && s.Active == "active"
}

func launched(name string, h unit.Hash) registry.Placement {
	return registry.Placement{Unit: name, Machine: "m1", Hash: h, Desired: registry.StateLaunched}
}

func loaded(name string, h unit.Hash) registry.Placement {
	return registry.Placement{Unit: name, Machine: "m1", Hash: h, Desired: registry.StateLoaded}
}

func gone(name string) registry.Placement { return registry.Placement{Unit: name} }

// calls snapshots the Fake's call counts of the methods that change things.
func calls(f *systemdtest.Fake) map[string]int {
	out := map[string]int{}
	for _, m := range []string{"WriteUnitFile", "WriteUnitFiles", "Load", "RemoveUnitFile", "Enable", "Reload", "Start", "Stop"} {
		out[m] = f.Calls(m)
	}
	return out
}
