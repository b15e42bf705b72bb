package systemdtest

import (
	"context"
	"crypto/sha1"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flota-dev/flota/agent"
	"github.com/flota-dev/flota/unit"
)

// Prefix starts the name of every unit the contract suite creates.
const Prefix = "flota-contract-"

// Run checks that a Systemd behaves as the Agent relies on systemd
// behaving. newSystemd returns a fresh Systemd (one per subtest: Watch is
// called once per Systemd) whose unit directory is the suite's own. The
// units are harmless (sleep, true, false) and named Prefix*, and every
// subtest removes what it created.
func Run(t *testing.T, newSystemd func(t *testing.T) agent.Systemd) {
	for _, c := range contract {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			s := newSystemd(t)
			c.run(t, ctx, s, &cleanup{t: t, s: s})
		})
	}
}

var contract = []struct {
	name string
	run  func(t *testing.T, ctx context.Context, s agent.Systemd, c *cleanup)
}{
	{"written files are listed with their hash", func(t *testing.T, ctx context.Context, s agent.Systemd, c *cleanup) {
		a, b := c.name("files-a.service"), c.name("files-b.service")
		write(t, ctx, s, a, sleeper)
		write(t, ctx, s, b, sleeper)
		write(t, ctx, s, b, oneshot("/bin/true"))
		files := unitFiles(t, ctx, s)
		if files[a] != sha1.Sum(sleeper) || files[b] != sha1.Sum(oneshot("/bin/true")) {
			t.Fatalf("UnitFiles = %v, want %s and %s with the hashes of their last content", files, a, b)
		}
		must(t, s.RemoveUnitFile(ctx, a))
		must(t, s.RemoveUnitFile(ctx, a)) // not there any more: no error
		if _, ok := unitFiles(t, ctx, s)[a]; ok {
			t.Fatalf("UnitFiles still lists %s after RemoveUnitFile", a)
		}
	}},
	{"units whose files the agent did not write are foreign, its own are not", func(t *testing.T, ctx context.Context, s agent.Systemd, c *cleanup) {
		mine, nobody := c.name("mine.service"), Prefix+"nobody.service"
		write(t, ctx, s, mine, sleeper)
		// Every Debian machine has the bus's unit and getty's template.
		got, err := s.Foreign(ctx, []string{"dbus.service", "getty@tty9.service", mine, nobody})
		must(t, err)
		if !strings.HasSuffix(got["dbus.service"], "/dbus.service") || !strings.HasSuffix(got["getty@tty9.service"], "/getty@.service") {
			t.Errorf("Foreign = %v, want dbus.service's file, and getty@.service's for getty@tty9.service", got)
		}
		if p, ok := got[mine]; ok {
			t.Errorf("Foreign says %s, which the agent wrote and linked, is someone else's (%s)", mine, p)
		}
		if p, ok := got[nobody]; ok {
			t.Errorf("Foreign says %s, which no file gives, is someone else's (%s)", nobody, p)
		}
	}},
	{"a written unit is loaded at reload", func(t *testing.T, ctx context.Context, s agent.Systemd, c *cleanup) {
		name := c.name("load.service")
		write(t, ctx, s, name, sleeper)
		must(t, s.Reload(ctx))
		wantStatus(t, ctx, s, name, agent.UnitStatus{Load: "loaded", Active: "inactive", Sub: "dead"})
	}},
	{"a new unit loads at its first reference, without a reload", func(t *testing.T, ctx context.Context, s agent.Systemd, c *cleanup) {
		name := c.name("first.service")
		write(t, ctx, s, name, sleeper)
		st, err := s.Load(ctx, []string{name})
		must(t, err)
		if want := (agent.UnitStatus{Load: "loaded", Active: "inactive", Sub: "dead"}); st[name] != want {
			t.Fatalf("Load = %+v, want %+v", st[name], want)
		}
		must(t, s.Start(ctx, name))
		wantStatus(t, ctx, s, name, agent.UnitStatus{Load: "loaded", Active: "active", Sub: "running"})
	}},
	{"a batch of files is written and linked in one call", func(t *testing.T, ctx context.Context, s agent.Systemd, c *cleanup) {
		a, b := c.name("batch-a.service"), c.name("batch-b.service")
		errs := s.WriteUnitFiles(ctx, []agent.UnitFile{{Name: a, Data: sleeper}, {Name: "no-dot", Data: sleeper}, {Name: b, Data: oneshot("/bin/true")}})
		if len(errs) != 1 || errs["no-dot"] == nil {
			t.Fatalf("WriteUnitFiles errors = %v, want one, for the bad name", errs)
		}
		files := unitFiles(t, ctx, s)
		if files[a] != sha1.Sum(sleeper) || files[b] != sha1.Sum(oneshot("/bin/true")) {
			t.Fatalf("UnitFiles = %v, want %s and %s", files, a, b)
		}
		st, err := s.Load(ctx, []string{a, b})
		must(t, err)
		if st[a].Load != "loaded" || st[b].Load != "loaded" {
			t.Fatalf("Load = %v, want both loaded", st)
		}
	}},
	{"a unit loaded as not-found loads once its file is linked", func(t *testing.T, ctx context.Context, s agent.Systemd, c *cleanup) {
		name := c.name("late.service")
		st, err := s.Load(ctx, []string{name})
		must(t, err)
		if st[name].Load != "not-found" {
			t.Fatalf("Load before the file = %+v, want not-found", st[name])
		}
		write(t, ctx, s, name, sleeper) // the new link changes the search path's mtime
		st, err = s.Load(ctx, []string{name})
		must(t, err)
		if st[name].Load != "loaded" {
			t.Fatalf("Load after the link = %+v, want loaded without a reload", st[name])
		}
		must(t, s.Start(ctx, name))
		wantStatus(t, ctx, s, name, agent.UnitStatus{Load: "loaded", Active: "active", Sub: "running"})
	}},
	{"a removed unit that nothing holds is gone without a reload", func(t *testing.T, ctx context.Context, s agent.Systemd, c *cleanup) {
		name := c.name("dropped.service")
		write(t, ctx, s, name, sleeper)
		must(t, s.Start(ctx, name))
		must(t, s.Stop(ctx, name))
		must(t, s.RemoveUnitFile(ctx, name))
		if _, ok := unitFiles(t, ctx, s)[name]; ok {
			t.Fatalf("UnitFiles still lists %s", name)
		}
		// systemd may hold it a moment (the Fake holds it until a reload):
		// what the agent relies on is that Load never finds the removed file.
		st, err := s.Load(ctx, []string{name})
		must(t, err)
		if st[name].Active != "inactive" {
			t.Fatalf("Load after removal = %+v, want inactive", st[name])
		}
		t.Logf("after removal, before a reload: %+v", st[name])
		must(t, s.Reload(ctx))
		wantStatus(t, ctx, s, name, agent.UnitStatus{Load: "not-found", Active: "inactive", Sub: "dead"})
	}},
	{"a unit systemd does not know is not-found", func(t *testing.T, ctx context.Context, s agent.Systemd, c *cleanup) {
		wantStatus(t, ctx, s, Prefix+"no-such.service", agent.UnitStatus{Load: "not-found", Active: "inactive", Sub: "dead"})
		must(t, s.Stop(ctx, Prefix+"no-such.service")) // nothing to stop: no error
	}},
	{"start runs a unit and stop stops it", func(t *testing.T, ctx context.Context, s agent.Systemd, c *cleanup) {
		name := c.name("run.service")
		write(t, ctx, s, name, sleeper)
		must(t, s.Reload(ctx))
		must(t, s.Start(ctx, name))
		must(t, s.Start(ctx, name)) // running already: no error
		wantStatus(t, ctx, s, name, agent.UnitStatus{Load: "loaded", Active: "active", Sub: "running"})
		must(t, s.Stop(ctx, name))
		wantStatus(t, ctx, s, name, agent.UnitStatus{Load: "loaded", Active: "inactive", Sub: "dead"})
	}},
	{"a failed start job is ErrJobFailed naming the unit", func(t *testing.T, ctx context.Context, s agent.Systemd, c *cleanup) {
		name := c.name("fail.service")
		write(t, ctx, s, name, oneshot("/bin/false"))
		must(t, s.Reload(ctx))
		err := s.Start(ctx, name)
		if !errors.Is(err, agent.ErrJobFailed) || !strings.Contains(err.Error(), name) {
			t.Fatalf("Start = %v, want ErrJobFailed naming %s", err, name)
		}
		wantStatus(t, ctx, s, name, agent.UnitStatus{Load: "loaded", Active: "failed", Sub: "failed"})
		must(t, s.Stop(ctx, name)) // a failed unit stays failed
		wantStatus(t, ctx, s, name, agent.UnitStatus{Load: "loaded", Active: "failed", Sub: "failed"})
	}},
	{"removing a failed unit clears it", func(t *testing.T, ctx context.Context, s agent.Systemd, c *cleanup) {
		name := c.name("gone.service")
		write(t, ctx, s, name, oneshot("/bin/false"))
		must(t, s.Reload(ctx))
		_ = s.Start(ctx, name)
		must(t, s.RemoveUnitFile(ctx, name))
		must(t, s.Reload(ctx))
		wantStatus(t, ctx, s, name, agent.UnitStatus{Load: "not-found", Active: "inactive", Sub: "dead"})
	}},
	{"a running unit outlives its file until stopped", func(t *testing.T, ctx context.Context, s agent.Systemd, c *cleanup) {
		name := c.name("orphan.service")
		write(t, ctx, s, name, sleeper)
		must(t, s.Reload(ctx))
		must(t, s.Start(ctx, name))
		must(t, s.RemoveUnitFile(ctx, name))
		must(t, s.Reload(ctx))
		wantStatus(t, ctx, s, name, agent.UnitStatus{Load: "not-found", Active: "active", Sub: "running"})
		must(t, s.Stop(ctx, name))
		wantStatus(t, ctx, s, name, agent.UnitStatus{Load: "not-found", Active: "inactive", Sub: "dead"})
	}},
	{"a rewritten file takes effect at reload", func(t *testing.T, ctx context.Context, s agent.Systemd, c *cleanup) {
		name := c.name("rewrite.service")
		write(t, ctx, s, name, sleeper)
		must(t, s.Reload(ctx))
		must(t, s.Start(ctx, name))
		must(t, s.Stop(ctx, name))
		write(t, ctx, s, name, oneshot("/bin/false"))
		must(t, s.Reload(ctx))
		if err := s.Start(ctx, name); !errors.Is(err, agent.ErrJobFailed) {
			t.Fatalf("Start after rewrite and reload = %v, want the new definition's ErrJobFailed", err)
		}
	}},
	{"a rewritten file of a held unit needs a reload, and takes effect at it", func(t *testing.T, ctx context.Context, s agent.Systemd, c *cleanup) {
		name := c.name("stale.service")
		write(t, ctx, s, name, sleeper)
		must(t, s.Start(ctx, name)) // running: systemd holds it
		write(t, ctx, s, name, oneshot("/bin/true"))
		need, err := s.NeedReload(ctx, []string{name})
		must(t, err)
		if !need[name] {
			t.Fatalf("NeedReload = %v after the file of a running unit changed, want yes", need)
		}
		must(t, s.Reload(ctx))
		if need, err = s.NeedReload(ctx, []string{name}); err != nil || need[name] {
			t.Fatalf("NeedReload = %v, %v after the reload, want no", need, err)
		}
		must(t, s.Stop(ctx, name))
		must(t, s.Start(ctx, name)) // the new definition: a oneshot that exits
		wantStatus(t, ctx, s, name, agent.UnitStatus{Load: "loaded", Active: "inactive", Sub: "dead"})
	}},
	{"enable hooks [Install] into its target", func(t *testing.T, ctx context.Context, s agent.Systemd, c *cleanup) {
		target, svc := c.name("hook.target"), c.name("hooked.service")
		write(t, ctx, s, target, []byte("[Unit]\nDescription=flota contract target\n"))
		write(t, ctx, s, svc, append(slices.Clone(sleeper), []byte("\n[Install]\nWantedBy="+target+"\n")...))
		must(t, s.Enable(ctx, svc))
		must(t, s.Enable(ctx, target)) // no [Install]: nothing to do, no error
		must(t, s.Reload(ctx))
		must(t, s.Start(ctx, target))
		wantStatus(t, ctx, s, svc, agent.UnitStatus{Load: "loaded", Active: "active", Sub: "running"})
	}},
	{"an instance is written and started under its own name", func(t *testing.T, ctx context.Context, s agent.Systemd, c *cleanup) {
		name := c.name("inst@1.service")
		write(t, ctx, s, name, sleeper)
		must(t, s.Reload(ctx))
		must(t, s.Start(ctx, name))
		wantStatus(t, ctx, s, name, agent.UnitStatus{Load: "loaded", Active: "active", Sub: "running"})
	}},
	{"units refuses a template", func(t *testing.T, ctx context.Context, s agent.Systemd, c *cleanup) {
		if _, err := s.Units(ctx, []string{Prefix + "ok.service", Prefix + "tmpl@.service"}); err == nil {
			t.Fatal("Units with a template name succeeded; systemd refuses the whole call, which is why the Agent never asks")
		}
	}},
	{"watch reports a unit's state change", func(t *testing.T, ctx context.Context, s agent.Systemd, c *cleanup) {
		name := c.name("watched.service")
		wctx, stop := context.WithCancel(ctx)
		events, err := s.Watch(wctx)
		must(t, err)
		write(t, ctx, s, name, sleeper)
		must(t, s.Reload(ctx))
		must(t, s.Start(ctx, name))
		for {
			select {
			case n := <-events:
				if n != name {
					continue
				}
				stop()
				for range events { // closed once ctx ends
				}
				return
			case <-ctx.Done():
				t.Fatalf("no signal for %s", name)
			}
		}
	}},
}

// sleeper is a harmless long-running service.
var sleeper = []byte("[Unit]\nDescription=flota contract test unit\n\n[Service]\nExecStart=/bin/sleep 3600\n")

func oneshot(exec string) []byte {
	return []byte("[Unit]\nDescription=flota contract test unit\n\n[Service]\nType=oneshot\nExecStart=" + exec + "\n")
}

// cleanup removes, when the test ends, every unit the test named.
type cleanup struct {
	t *testing.T
	s agent.Systemd
}

// name returns Prefix+suffix and has the unit removed when the test ends.
func (c *cleanup) name(suffix string) string {
	name := Prefix + suffix
	c.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := c.s.Stop(ctx, name); err != nil {
			c.t.Errorf("cleanup: %v", err)
		}
		if err := c.s.RemoveUnitFile(ctx, name); err != nil {
			c.t.Errorf("cleanup: %v", err)
		}
		if err := c.s.Reload(ctx); err != nil {
			c.t.Errorf("cleanup: %v", err)
		}
	})
	return name
}

func write(t *testing.T, ctx context.Context, s agent.Systemd, name string, data []byte) {
	t.Helper()
	must(t, s.WriteUnitFile(ctx, name, data))
}

func unitFiles(t *testing.T, ctx context.Context, s agent.Systemd) map[string]unit.Hash {
	t.Helper()
	files, err := s.UnitFiles(ctx)
	must(t, err)
	return files
}

// wantStatus waits (systemd settles a state shortly after a job) until
// Units reports want for name.
func wantStatus(t *testing.T, ctx context.Context, s agent.Systemd, name string, want agent.UnitStatus) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := s.Units(ctx, []string{name})
		must(t, err)
		if got[name] == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Units(%s) = %+v, want %+v", name, got[name], want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
