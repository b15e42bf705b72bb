package engine

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// TestDrain walks drains step by step: each step schedules, applies the
// plan, then (when the case says so) lets the agents publish what runs.
func TestDrain(t *testing.T) {
	t.Run("make-before-break: the old copy stays until the new one is up", func(t *testing.T) {
		w := newWorld(t)
		w.machine("m1").unit("a.service")
		w.settle()
		w.machine("m2")
		w.publish()
		w.drain("m1", Drain{})
		w.step()
		if got := w.where("a.service"); !slices.Equal(got, []string{"m1", "m2"}) {
			t.Fatalf("a on %v, want m1 and m2 while the new copy starts", got)
		}
		if again := w.step(); !again.Empty() {
			t.Fatalf("nothing changed, yet %s", render(again))
		}
		w.publish() // the copy on m2 is active
		w.step()
		if got := w.where("a.service"); !slices.Equal(got, []string{"m2"}) {
			t.Fatalf("a on %v once m2's copy is up, want m2", got)
		}
		w.publish()
		w.settle()
	})
	t.Run("break-before-make for a unit that may not run twice", func(t *testing.T) {
		w := newWorld(t)
		w.machine("m1").unit("web@1.service", "Conflicts=web@*")
		w.settle()
		w.machine("m2")
		w.publish()
		w.drain("m1", Drain{})
		w.step()
		if got := w.where("web@1.service"); len(got) != 0 {
			t.Fatalf("web@1 on %v, want nowhere while its copy on m1 stops", got)
		}
		if got := codes(w.unplaced["web@1.service"]); got != "stopping-elsewhere(m1)" {
			t.Fatalf("reason %q", got)
		}
		w.step() // the agent has not stopped it yet: still waiting
		if got := w.where("web@1.service"); len(got) != 0 {
			t.Fatalf("web@1 placed on %v before its old copy stopped", got)
		}
		w.publish() // m1's agent stopped it: no row
		w.step()
		if got := w.on("web@1.service"); got != "m2" {
			t.Fatalf("web@1 on %q once stopped, want m2", got)
		}
		w.publish()
		w.settle()
	})
	t.Run("at most MaxParallel moves at a time, in name order", func(t *testing.T) {
		w := newWorld(t)
		w.machine("m1")
		for i := 1; i <= 5; i++ {
			w.unit(fmt.Sprintf("u%d.service", i))
		}
		w.settle()
		w.machine("m2")
		w.publish()
		w.drain("m1", Drain{MaxParallel: 2})
		steps := 0
		for done := false; !done; steps++ {
			if steps > 10 {
				t.Fatal("not drained after 10 steps")
			}
			w.step()
			moving, on2 := 0, 0
			for i := 1; i <= 5; i++ {
				switch where := w.where(fmt.Sprintf("u%d.service", i)); {
				case len(where) == 2:
					moving++
				case slices.Equal(where, []string{"m2"}):
					on2++
				}
			}
			if moving > 2 {
				t.Fatalf("step %d: %d moving at once, MaxParallel is 2", steps, moving)
			}
			if moving > 0 && len(w.where(fmt.Sprintf("u%d.service", on2+1))) != 2 {
				t.Fatalf("step %d: u%d is not the next to move", steps, on2+1)
			}
			done = on2 == 5
			w.publish()
		}
		if steps != 4 { // 2 begin; they end as 2 more begin; then 1; then it ends
			t.Fatalf("drained in %d steps, want 4", steps)
		}
		for i := 1; i <= 5; i++ {
			if got := w.on(fmt.Sprintf("u%d.service", i)); got != "m2" {
				t.Fatalf("u%d on %q, want m2", i, got)
			}
		}
	})
	t.Run("a unit with nowhere to go stays, running, and says why", func(t *testing.T) {
		w := newWorld(t)
		w.machine("m1", "disk=ssd").machine("m2").unit("db.service", "MachineMetadata=disk=ssd")
		w.settle()
		w.publish()
		w.drain("m1", Drain{})
		w.settle()
		if got := w.on("db.service"); got != "m1" {
			t.Fatalf("db on %q, want m1 (nowhere else)", got)
		}
		if got := noteCodes(w.notes["db.service"]); got != "drain-stuck(m1)" {
			t.Fatalf("notes %q", got)
		}
		if got := codes(reasonOf(w.notes["db.service"][0].Filters)); got != "no-eligible: draining=1, machine-metadata(disk=ssd)=1" {
			t.Fatalf("why %q", got)
		}
	})
	t.Run("the deadline stops into nowhere what has nowhere to go", func(t *testing.T) {
		w := newWorld(t)
		w.now = time.Unix(1000, 0)
		w.machine("m1", "disk=ssd").machine("m2").unit("db.service", "MachineMetadata=disk=ssd")
		w.settle()
		w.publish()
		w.drain("m1", Drain{Deadline: w.now.Add(time.Minute)})
		plan := w.step()
		if w.on("db.service") != "m1" || !plan.Wake.Equal(w.now.Add(time.Minute)) {
			t.Fatalf("before the deadline: db on %q, wake %v", w.on("db.service"), plan.Wake)
		}
		w.now = w.now.Add(time.Minute)
		w.step()
		if got := w.where("db.service"); len(got) != 0 {
			t.Fatalf("db on %v past the deadline, want stopped", got)
		}
		w.publish()
		w.settle()
		if got := codes(w.unplaced["db.service"]); got != "no-eligible: draining=1, machine-metadata(disk=ssd)=1" {
			t.Fatalf("reason %q", got)
		}
	})
	t.Run("globals stay unless asked, and a drained machine takes nothing new", func(t *testing.T) {
		w := newWorld(t)
		w.machine("m1").machine("m2").unit("g.service", "Global=true")
		w.settle()
		w.publish()
		w.drain("m1", Drain{})
		w.unit("late.service").unit("g2.service", "Global=true")
		w.settle()
		if got := w.where("g.service"); !slices.Equal(got, []string{"m1", "m2"}) {
			t.Fatalf("g on %v, want it kept on m1", got)
		}
		if w.on("late.service") != "m2" || !slices.Equal(w.where("g2.service"), []string{"m2"}) {
			t.Fatalf("late on %q, g2 on %v: a draining machine took a new unit", w.on("late.service"), w.where("g2.service"))
		}
		w.drain("m1", Drain{IncludeGlobal: true})
		w.settle()
		if got := w.where("g.service"); !slices.Equal(got, []string{"m2"}) {
			t.Fatalf("g on %v with IncludeGlobal, want m2 only", got)
		}
	})
	t.Run("undrained, the machine takes units again", func(t *testing.T) {
		w := newWorld(t)
		w.machine("m1").machine("m2")
		w.drain("m1", Drain{})
		w.unit("a.service").unit("b.service")
		w.settle()
		if w.on("a.service") != "m2" || w.on("b.service") != "m2" {
			t.Fatalf("a, b on %q %q, want m2", w.on("a.service"), w.on("b.service"))
		}
		delete(w.drains, "m1")
		w.unit("c.service")
		w.settle()
		if w.on("c.service") != "m1" {
			t.Fatalf("c on %q, want m1 (least loaded, undrained)", w.on("c.service"))
		}
	})
}
