package ctl

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flota-dev/flota/reason"
	"github.com/flota-dev/flota/registry"
)

const m1 = "54a526e2c1d94c4ba7ac0fd2d9c6c5e9"

// TestBlockingLifecycle runs a unit through every blocking command with a
// real Engine placing it and a stand-in Agent publishing its states.
func TestBlockingLifecycle(t *testing.T) {
	c := newCluster(t)
	c.startEngine()
	a := c.startAgent(c.register(m1, "127.0.0.2", nil), m1, 200*time.Millisecond)
	dir := t.TempDir()
	hello := writeFile(t, dir, "hello.service", "[Service]\nExecStart=/bin/hello\n")
	writeFile(t, dir, "other.service", "[Service]\nExecStart=/bin/other\n")
	glob := writeFile(t, dir, "g.service", "[Service]\nExecStart=/bin/g\n\n[X-Fleet]\nGlobal=true\n")
	on := " on 54a526e2.../127.0.0.2\n"
	steps := []struct {
		name     string
		args     []string
		out, err string
	}{
		{"start", []string{"start", hello}, "Unit hello.service inactive\nUnit hello.service launched" + on, ""},
		{"start again", []string{"start", "hello"}, "Unit hello.service launched" + on, ""},
		{"stop", []string{"stop", "hello"}, "Unit hello.service loaded" + on, "Successfully stopped units [hello.service].\n"},
		{"start after stop", []string{"start", "--block-attempts=5", "hello"}, "Unit hello.service launched" + on, ""},
		{"restart", []string{"restart", "hello"}, "Unit hello.service loaded" + on + "Unit hello.service launched" + on, ""},
		{"unload", []string{"unload", "hello"}, "Unit hello.service inactive\n", "Successfully unloaded units [hello.service].\n"},
		{"load", []string{"load", "hello", dir + "/other.service"}, "Unit other.service inactive\nUnit hello.service loaded" + on + "Unit other.service loaded" + on, ""},
		{"global start", []string{"start", glob}, "Unit g.service inactive\nTriggered global unit g.service start\n", ""},
		{"global restart", []string{"restart", "g"}, "Unit g.service loaded\nTriggered global unit g.service start\n", ""},
		{"destroy", []string{"destroy", "hello", "other", "g"}, "Destroyed g.service\nDestroyed hello.service\nDestroyed other.service\n", ""},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			r := c.start(context.Background(), s.args...)
			code := r.wait(t, 20*time.Second)
			out := r.out.String()
			if s.name == "destroy" { // each is said as it leaves its machine
				lines := strings.SplitAfter(out, "\n")
				slices.Sort(lines)
				out = strings.Join(lines, "")
			}
			check(t, result{code, out, r.errOut.String()}, 0, s.out, s.err)
		})
	}
	t.Run("restart really restarted", func(t *testing.T) {
		got := a.states("hello.service")
		want := []registry.State{"launched", "loaded", "launched", "loaded", "launched"}
		if len(got) < len(want) || !slices.Equal(got[:len(want)], want) {
			t.Errorf("agent saw %v, want %v first", got, want)
		}
	})
	t.Run("destroyed units left the machine", func(t *testing.T) {
		st, err := c.reg.ReadStatus(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Placements) != 0 || len(st.States) != 0 || len(st.Units) != 0 {
			t.Errorf("left behind: %+v", st)
		}
	})
}

// TestStartWaitsForActive publishes the unit's state from the test, late
// and in steps: start must not return before systemd has it active, and
// says so when systemd failed it.
func TestStartWaitsForActive(t *testing.T) {
	c := newCluster(t)
	c.startEngine()
	p := c.register(m1, "127.0.0.2", nil)
	r := c.start(context.Background(), "start", writeFile(t, t.TempDir(), "hello.service", "[Service]\nExecStart=/bin/hello\n"))

	var pl registry.Placement
	eventually(t, "the engine to place the unit", func() bool {
		ps, _, err := c.reg.MachinePlacements(context.Background(), m1)
		if err == nil && len(ps) == 1 && ps[0].Desired == registry.StateLaunched {
			pl = ps[0]
			return true
		}
		return false
	})
	publish := func(active, sub string) {
		t.Helper()
		s := registry.UnitState{Unit: pl.Unit, Machine: m1, Hash: pl.Hash, Load: "loaded", Active: active, Sub: sub, State: registry.StateLaunched}
		if err := p.PublishState(context.Background(), s); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(300 * time.Millisecond)
	publish("activating", "start")
	publish("failed", "failed")
	failed := "Unit hello.service failed on 54a526e2.../127.0.0.2 (failed); waiting for it to become active\n"
	eventually(t, "the failure to be said", func() bool { return r.errOut.String() == failed })
	select {
	case code := <-r.done:
		t.Fatalf("start returned %d before the unit was active", code)
	case <-time.After(300 * time.Millisecond):
	}
	publish("active", "running")
	code := r.wait(t, 10*time.Second)
	check(t, result{code, r.out.String(), r.errOut.String()}, 0,
		"Unit hello.service inactive\nUnit hello.service launched on 54a526e2.../127.0.0.2\n", failed)
}

// TestBlockAttempts checks the time-out: the unplaced reason from the
// Engine is said once while waiting, then every pending unit times out.
func TestBlockAttempts(t *testing.T) {
	c := newCluster(t)
	c.startEngine() // and no machine: nothing can be placed
	dir := t.TempDir()
	writeFile(t, dir, "a.service", "[Service]\nExecStart=/bin/a\n")
	writeFile(t, dir, "b.service", "[Service]\nExecStart=/bin/b\n")
	t.Chdir(dir)
	start := time.Now()
	r := c.ctl("start", "--block-attempts=1", "a", "b")
	took := time.Since(start)
	check(t, r, 1, "Unit a.service inactive\nUnit b.service inactive\n",
		"Unit a.service cannot be placed: no machines registered\n"+
			"Unit b.service cannot be placed: no machines registered\n"+
			"Error waiting for units: timed out waiting for unit a.service to report state launched\n"+
			"Error waiting for units: timed out waiting for unit b.service to report state launched\n")
	if took < 2*time.Second || took > 5*time.Second {
		t.Errorf("gave up after %v, want about 2s", took)
	}
	t.Run("stop times out too", func(t *testing.T) {
		r := c.ctl("stop", "--block-attempts=1", "a")
		check(t, r, 1, "", "Unit a.service cannot be placed: no machines registered\n"+
			"Error waiting for units: timed out waiting for unit a.service to report state loaded\n")
	})
}

// TestUnplacedReasonChanges acts as the Engine: each new reason is said
// once, and the wait ends when the unit is placed and running.
func TestUnplacedReasonChanges(t *testing.T) {
	c := newCluster(t)
	r := c.start(context.Background(), "start", writeFile(t, t.TempDir(), "x.service", "[Service]\nExecStart=/bin/x\n"))
	eventually(t, "the unit to be created", func() bool { return r.out.String() == "Unit x.service inactive\n" })
	const a = `Conflicts "x*" filtered 2 machines`
	const b = `MachineMetadata "disk=ssd" filtered 3 machines`
	c.place("x.service", "", a)
	eventually(t, "the first reason", func() bool { return strings.Count(r.errOut.String(), "cannot be placed") == 1 })
	c.place("x.service", "", a) // the same again: nothing new to say
	c.place("x.service", "", b)
	eventually(t, "the second reason", func() bool { return strings.Count(r.errOut.String(), "cannot be placed") == 2 })
	p := c.register(m1, "", nil)
	c.place("x.service", m1, "")
	if err := p.PublishState(context.Background(), registry.UnitState{Unit: "x.service", Machine: m1, Active: "active", State: registry.StateLaunched}); err != nil {
		t.Fatal(err)
	}
	code := r.wait(t, 10*time.Second)
	check(t, result{code, r.out.String(), r.errOut.String()}, 0,
		"Unit x.service inactive\nUnit x.service launched on 54a526e2...\n",
		"Unit x.service cannot be placed: "+a+"\nUnit x.service cannot be placed: "+b+"\n")
}

// TestInterrupt checks that a cancelled wait (SIGINT in main) ends at once.
func TestInterrupt(t *testing.T) {
	c := newCluster(t)
	ctx, cancel := context.WithCancel(context.Background())
	r := c.start(ctx, "start", writeFile(t, t.TempDir(), "x.service", "[Service]\nExecStart=/bin/x\n"))
	eventually(t, "the unit to be created", func() bool { return r.out.String() == "Unit x.service inactive\n" })
	cancel()
	if code := r.wait(t, 5*time.Second); code != 130 || r.errOut.String() != "Interrupted.\n" {
		t.Errorf("exit %d stderr %q", code, r.errOut.String())
	}
}

// TestStartStopsWhenStuck: a blocking start says what a unit waits for
// (its image being pulled) and stops, with its own exit code, once
// waiting will not get it there: the agent failed it for good (4), or it
// cannot be placed until the machines change (3).
func TestStartStopsWhenStuck(t *testing.T) {
	t.Run("a failed image pull", func(t *testing.T) {
		c := newCluster(t)
		ctx := context.Background()
		p := c.register(m1, "127.0.0.2", nil)
		r := c.start(ctx, "start", writeFile(t, t.TempDir(), "web.service", "[Service]\nExecStart=/bin/web\n"))
		eventually(t, "the unit to be created", func() bool { return r.out.String() == "Unit web.service inactive\n" })
		c.place("web.service", m1, "")
		publish := func(cond reason.Condition, detail string) {
			t.Helper()
			s := registry.UnitState{Unit: "web.service", Machine: m1, Load: "not-found", Active: "inactive", Sub: "dead",
				State: registry.StateInactive, Condition: cond, Detail: detail}
			if err := p.PublishState(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		publish(reason.ConditionPullingImage, "web:1")
		eventually(t, "the pull said", func() bool { return strings.Contains(r.errOut.String(), "pulling image web:1") })
		publish(reason.ConditionImagePullFailed, "web:1: 404 Not Found")
		code := r.wait(t, 10*time.Second)
		check(t, result{code, r.out.String(), r.errOut.String()}, exitUnitFailed, "Unit web.service inactive\n",
			"Unit web.service waits on 54a526e2.../127.0.0.2: pulling image web:1\n"+
				"Unit web.service failed on 54a526e2.../127.0.0.2: image-pull-failed: web:1: 404 Not Found\n")
	})
	t.Run("no machine with its metadata", func(t *testing.T) {
		c := newCluster(t)
		c.register(m1, "127.0.0.2", map[string]string{"disk": "hdd"})
		c.startEngine()
		r := c.start(context.Background(), "start", writeFile(t, t.TempDir(), "ssd.service", "[Service]\nExecStart=/bin/x\n\n[X-Fleet]\nMachineMetadata=disk=ssd\n"))
		code := r.wait(t, 20*time.Second)
		check(t, result{code, r.out.String(), r.errOut.String()}, exitUnplaceable, "Unit ssd.service inactive\n",
			"Unit ssd.service cannot be placed: no eligible machine among 1: MachineMetadata \"disk=ssd\" filtered 1 machine\n")
	})
}
