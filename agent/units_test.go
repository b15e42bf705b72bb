package agent_test

import (
	"context"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/flota-dev/flota/agent/systemd/systemdtest"
	"github.com/flota-dev/flota/reason"
	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/unit"
)

// TestUnitsBatchNoReload: new units need no daemon-reload, systemd reads
// each from its file at the first reference; one Load call asks for all.
func TestUnitsBatchNoReload(t *testing.T) {
	r := newRig(t)
	h := r.files.add("/bin/sleep 3600")
	var ps []registry.Placement
	for i := range 50 {
		ps = append(ps, launched(fmt.Sprintf("web@%d.service", i), h))
	}
	r.src.set(ps...)
	eventually(t, "50 rows launched", func() bool {
		for _, p := range ps {
			if s, ok := r.pub.row(p.Unit); !ok || !isLaunched(s) {
				return false
			}
		}
		return true
	})
	if got := r.fake.Calls("Reload"); got != 0 {
		t.Errorf("%d reloads for 50 new placements, want none", got)
	}
	if got := r.fake.Calls("Load"); got < 1 || got > 3 {
		t.Errorf("%d Load calls for 50 placements, want a few batches", got)
	}
	if got := len(r.fake.Files()); got != 50 {
		t.Errorf("%d files written, want 50", got)
	}
	if got := r.fake.Calls("WriteUnitFiles"); got < 1 || got > 3 {
		t.Errorf("%d WriteUnitFiles calls for 50 placements, want a few batches", got)
	}
	if r.files.reads != 1 {
		t.Errorf("%d registry reads of one shared file, want 1", r.files.reads)
	}
	s, _ := r.pub.row("web@7.service")
	if s.Hash != h || s.Machine != "m1" || s.Load != "loaded" || s.Sub != "running" {
		t.Errorf("row %+v", s)
	}
}

func TestUnitsAgentStopAndRestart(t *testing.T) {
	r := newRig(t)
	h := r.files.add("/bin/sleep 3600")
	r.src.set(launched("a.service", h), loaded("b.service", h))
	r.published(t, "a.service", isLaunched)
	r.published(t, "b.service", func(s registry.UnitState) bool { return s.State == registry.StateLoaded })

	r.stop()
	before := calls(r.fake)
	if got := r.fake.Status("a.service").Active; got != "active" {
		t.Fatalf("stopping the agent left a.service %s, want it running", got)
	}

	r.start(t)
	r.published(t, "a.service", isLaunched)
	r.published(t, "b.service", func(s registry.UnitState) bool { return s.State == registry.StateLoaded })
	time.Sleep(50 * time.Millisecond) // time for any wrong action to show
	if after := calls(r.fake); !maps.Equal(before, after) {
		t.Errorf("a restarted agent acted: calls %v, then %v", before, after)
	}
}

func TestUnitsDesiredStateChanges(t *testing.T) {
	r := newRig(t)
	h := r.files.add("/bin/sleep 3600")
	r.src.set(launched("web.service", h))
	r.published(t, "web.service", isLaunched)

	t.Run("loaded stops it", func(t *testing.T) {
		r.src.set(loaded("web.service", h))
		r.published(t, "web.service", func(s registry.UnitState) bool { return s.State == registry.StateLoaded && s.Active == "inactive" })
	})
	t.Run("launched starts it again", func(t *testing.T) {
		r.src.set(launched("web.service", h))
		r.published(t, "web.service", isLaunched)
	})
	t.Run("a replace restarts it with the new file", func(t *testing.T) {
		h2 := r.files.add("/bin/sleep 7200")
		stops, starts := r.fake.Calls("Stop"), r.fake.Calls("Start")
		r.src.set(launched("web.service", h2))
		r.published(t, "web.service", func(s registry.UnitState) bool { return s.Hash == h2 && isLaunched(s) })
		if r.fake.Calls("Stop") != stops+1 || r.fake.Calls("Start") != starts+1 {
			t.Errorf("replace: %d stops and %d starts, want one each", r.fake.Calls("Stop")-stops, r.fake.Calls("Start")-starts)
		}
		if data, _ := r.fake.File("web.service"); string(data) != string(r.files.byH[h2]) {
			t.Errorf("file %q, want the new version", data)
		}
		if need, _ := r.fake.NeedReload(context.Background(), []string{"web.service"}); need["web.service"] {
			t.Error("systemd runs the old definition of web.service: no reload after its file changed")
		}
	})
	t.Run("leaving stops, unlinks and removes it, and deletes its row", func(t *testing.T) {
		r.src.set(gone("web.service"))
		eventually(t, "the row is deleted", func() bool { _, ok := r.pub.row("web.service"); return !ok })
		if files := r.fake.Files(); len(files) != 0 {
			t.Errorf("unit directory still holds %v", files)
		}
		if st := r.fake.Status("web.service"); st.Load != "not-found" || st.Active != "inactive" {
			t.Errorf("systemd still has web.service: %+v", st)
		}
	})
}

func TestUnitsFailuresAreTheUnitsBusiness(t *testing.T) {
	r := newRig(t)
	h := r.files.add("/bin/sleep 3600")
	bad := r.files.add("/bin/false")
	r.src.set(launched("web.service", h), launched("bad.service", bad))

	t.Run("a unit that fails at start is started once", func(t *testing.T) {
		s := r.published(t, "bad.service", func(s registry.UnitState) bool { return s.Active == "failed" })
		if s.State != registry.StateLoaded {
			t.Errorf("a failed unit published as %s, want loaded (never launched)", s.State)
		}
		time.Sleep(50 * time.Millisecond)
		if got := r.fake.Calls("Start"); got != 2 {
			t.Errorf("%d starts, want 2 (one per unit)", got)
		}
	})
	t.Run("a crashed unit is not restarted by the agent", func(t *testing.T) {
		r.published(t, "web.service", isLaunched)
		starts := r.fake.Calls("Start")
		r.fake.Crash("web.service")
		r.published(t, "web.service", func(s registry.UnitState) bool { return s.Active == "failed" })
		time.Sleep(50 * time.Millisecond)
		if got := r.fake.Calls("Start") - starts; got != 0 {
			t.Errorf("the agent started a crashed unit %d times", got)
		}
	})
	t.Run("a new placement starts it once more", func(t *testing.T) {
		passes := r.fake.Calls("UnitFiles")
		r.src.set(loaded("web.service", h))
		// A failed unit is loaded already: wait for the pass, not a row.
		eventually(t, "a pass over the new Placements", func() bool { return r.fake.Calls("UnitFiles") > passes })
		r.src.set(launched("web.service", h))
		r.published(t, "web.service", isLaunched)
	})
}

func TestUnitsLostUnitsComeBack(t *testing.T) {
	r := newRig(t)
	h := r.files.add("/bin/sleep 3600")
	r.src.set(launched("web.service", h))
	r.published(t, "web.service", isLaunched)

	t.Run("file removed by hand and reloaded: written and started again", func(t *testing.T) {
		r.fake.StopByHand("web.service")
		r.fake.DeleteFile("web.service")
		r.fake.ReloadByHand()
		eventually(t, "web.service written and running again", func() bool {
			_, ok := r.fake.File("web.service")
			return ok && r.fake.Status("web.service").Active == "active"
		})
		r.published(t, "web.service", isLaunched)
	})
	t.Run("a reboot wiped /run: all written and started again", func(t *testing.T) {
		r.stop()
		r.fake.Reboot()
		r.start(t)
		r.published(t, "web.service", isLaunched)
	})
}

func TestUnitsTemplatesNeverWedgeTheAgent(t *testing.T) {
	r := newRig(t)
	h := r.files.add("/bin/sleep 3600")
	r.src.set(launched("web@.service", h), launched("web@1.service", h))
	r.published(t, "web@1.service", isLaunched)
	if _, ok := r.fake.File("web@.service"); ok {
		t.Error("the template was written")
	}
	if _, ok := r.pub.row("web@.service"); ok {
		t.Error("the template got a state row")
	}
	r.src.set(launched("other.service", h))
	r.published(t, "other.service", isLaunched)
}

func TestUnitsPublishOnlyChanges(t *testing.T) {
	r := newRig(t)
	h := r.files.add("/bin/sleep 3600")
	r.src.set(launched("a.service", h))
	r.published(t, "a.service", isLaunched)
	n := r.pub.count("a.service")
	r.src.set(launched("b.service", h))
	r.published(t, "b.service", isLaunched)
	if got := r.pub.count("a.service"); got != n {
		t.Errorf("a.service published %d more times while it did not change", got-n)
	}

	t.Run("a new registration gets every row again", func(t *testing.T) {
		fresh := newRecorder()
		r.units.SetPublisher(fresh)
		eventually(t, "both rows republished", func() bool { return fresh.len() == 2 })
	})
}

// TestUnitsOneReloadWhenSystemdMissesALink: a link made in the tick of the
// coarse clock in which systemd last mapped its unit files leaves the new
// unit not-found at its first reference; one reload finds it.
func TestUnitsOneReloadWhenSystemdMissesALink(t *testing.T) {
	r := newRig(t)
	h := r.files.add("/bin/sleep 3600")
	r.src.set(launched("a.service", h))
	r.published(t, "a.service", isLaunched)
	r.fake.HoldMtime(true)
	r.src.set(launched("a.service", h), launched("b.service", h), launched("c.service", h))
	r.published(t, "b.service", isLaunched)
	r.published(t, "c.service", isLaunched)
	if got := r.fake.Calls("Reload"); got != 1 {
		t.Errorf("%d reloads, want 1 for both units systemd missed", got)
	}
}

// TestUnitsReloadForLeavingUnitsSystemdHolds: the Fake never forgets a
// loaded unit by itself (systemd may), so a removed file is followed by
// one reload, and systemd holds none of the units any more.
func TestUnitsReloadForLeavingUnitsSystemdHolds(t *testing.T) {
	r := newRig(t)
	h := r.files.add("/bin/sleep 3600")
	r.src.set(launched("a.service", h), launched("b.service", h))
	r.published(t, "a.service", isLaunched)
	r.published(t, "b.service", isLaunched)
	r.src.set(gone("a.service"), gone("b.service"))
	eventually(t, "both rows deleted", func() bool { return r.pub.len() == 0 })
	if got := r.fake.Calls("Reload"); got != 1 {
		t.Errorf("%d reloads for two units leaving, want 1", got)
	}
	for _, n := range []string{"a.service", "b.service"} {
		if st := r.fake.Status(n); st.Load != "not-found" {
			t.Errorf("systemd still holds %s: %+v", n, st)
		}
	}
}

func TestUnitsRetryAFailedReload(t *testing.T) {
	r := newRig(t)
	// [Install]: enabling needs a reload.
	h := r.files.addText("[Service]\nExecStart=/bin/sleep 3600\n\n[Install]\nWantedBy=multi-user.target\n")
	r.fake.Fail("Reload", systemdtest.ErrInjected)
	r.src.set(launched("web.service", h))
	r.published(t, "web.service", isLaunched) // after the retry, a second later
	if got := r.fake.Calls("Reload"); got != 2 {
		t.Errorf("%d reloads, want the failed one and its retry", got)
	}
}

func TestUnitsNothingBeforePlacementsAreRead(t *testing.T) {
	r := &rig{fake: systemdtest.NewFake(), src: newSource(), files: newFiles()}
	h := r.files.add("/bin/sleep 3600")
	// A unit from before the agent's restart, still running.
	ctx := t.Context()
	_ = r.fake.WriteUnitFile(ctx, "web.service", r.files.byH[h])
	_ = r.fake.Reload(ctx)
	_ = r.fake.Start(ctx, "web.service")
	r.start(t)
	r.fake.Crash("other.service") // a signal, with nothing read yet
	time.Sleep(50 * time.Millisecond)
	if _, ok := r.fake.File("web.service"); !ok || r.fake.Calls("Stop") != 0 {
		t.Fatal("the agent removed a unit before it knew its Placements")
	}
	r.src.set(launched("web.service", h))
	r.published(t, "web.service", isLaunched)
	if r.fake.Calls("Start") != 1 {
		t.Errorf("the running unit was started again")
	}
}

// TestUnitsIdleCostsNothing checks the design that makes idle units free:
// with 500 units placed and running, an agent with nothing to do makes no
// call at all (no timer, no polling).
func TestUnitsIdleCostsNothing(t *testing.T) {
	r := newRig(t)
	h := r.files.add("/bin/sleep 3600")
	var ps []registry.Placement
	for i := range 500 {
		ps = append(ps, launched(fmt.Sprintf("idle@%d.service", i), h))
	}
	r.src.set(ps...)
	eventually(t, "500 rows launched", func() bool { return r.pub.len() == 500 })
	r.published(t, "idle@499.service", isLaunched)
	settled := func() bool { // no call for 200ms
		n := r.fake.Calls("Units")
		time.Sleep(200 * time.Millisecond)
		return r.fake.Calls("Units") == n
	}
	eventually(t, "the agent is idle", settled)
	t.Logf("to run 500 units: %d Units calls, %d UnitFiles, %d reloads", r.fake.Calls("Units"), r.fake.Calls("UnitFiles"), r.fake.Calls("Reload"))
	before := map[string]int{}
	for _, m := range []string{"UnitFiles", "Units", "Reload", "Start", "Stop", "WriteUnitFile", "WriteUnitFiles", "Load"} {
		before[m] = r.fake.Calls(m)
	}
	time.Sleep(time.Second)
	for m, n := range before {
		if got := r.fake.Calls(m); got != n {
			t.Errorf("idle agent called %s %d times in a second", m, got-n)
		}
	}
}

// TestUnitsFenceStopsWhatRuns: the fence stops the units that stop on
// disconnect, also those a restarted agent found running and had no need
// to write (it knew their policy only from their file), and leaves the
// others; lowered, it starts them again.
func TestUnitsFenceStopsWhatRuns(t *testing.T) {
	r := newRig(t)
	stops := r.files.addText("[Service]\nExecStart=/bin/sleep 3600\n\n[X-Fleet]\nConflicts=web@*\n")
	keeps := r.files.add("/bin/sleep 3600")
	r.src.set(launched("web@1.service", stops), launched("b.service", keeps))
	r.published(t, "web@1.service", isLaunched)
	r.published(t, "b.service", isLaunched)
	r.stop()
	r.start(t) // a restarted agent: nothing to write, nothing in its cache
	r.published(t, "web@1.service", isLaunched)
	r.published(t, "b.service", isLaunched)

	r.units.SetFenced(context.Background(), true)
	if got := r.fake.Status("web@1.service").Active; got != "inactive" {
		t.Fatalf("fenced: web@1 (Conflicts=, stops on disconnect) is %s, want inactive", got)
	}
	eventually(t, "the fenced unit stays stopped and the other runs", func() bool {
		return r.fake.Status("web@1.service").Active == "inactive" && r.fake.Status("b.service").Active == "active"
	})
	r.units.SetFenced(context.Background(), false)
	eventually(t, "web@1 running again once the fence is down", func() bool { return r.fake.Status("web@1.service").Active == "active" })
}

// A unit placed under the name of one of the machine's own (the Fake's
// machine has cron.service on disk) is never written or started: its row
// says name-taken, the machine's record refuses it, and the refusal
// outlives the placement, so the Engine does not bring it back.
func TestUnitsNeverTakeOverTheMachinesOwnUnits(t *testing.T) {
	r := newRig(t)
	h := r.files.add("/bin/sleep 3600")
	r.src.set(launched("a.service", h), launched("cron.service", h))
	r.published(t, "a.service", isLaunched)
	row := r.published(t, "cron.service", func(s registry.UnitState) bool { return s.Condition == reason.ConditionNameTaken })
	if row.Active != "inactive" || row.Load != "not-found" || row.Detail == "" {
		t.Errorf("cron.service published as %+v", row)
	}
	eventually(t, "the record refuses cron.service", func() bool { return r.pub.refusedOf("cron.service") != "" })
	if files, err := r.fake.UnitFiles(context.Background()); err != nil || files["cron.service"] != (unit.Hash{}) || len(files) != 1 {
		t.Errorf("the agent wrote cron.service (files %v, err %v)", files, err)
	}
	if st, err := r.fake.Units(context.Background(), []string{"cron.service"}); err != nil || st["cron.service"].Load != "not-found" {
		t.Errorf("systemd was given cron.service: %+v (err %v)", st, err)
	}

	r.src.set(registry.Placement{Unit: "cron.service"}) // the Engine placed it elsewhere
	eventually(t, "cron.service's row is gone", func() bool { _, ok := r.pub.row("cron.service"); return !ok })
	if got := r.pub.refusedOf("cron.service"); got != "/lib/systemd/system/cron.service" {
		t.Errorf("refusal of cron.service is %q once it left, want it kept, naming the machine's file", got)
	}
}
