package engine

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/flota-dev/flota/registry"
)

// skewedPods is m1 and m2 in pod a with n instances of web@ spread over
// pod placed on them, then m3 in pod b joining: the spread is n–0.
func skewedPods(t *testing.T, n int, fleet ...string) *world {
	w := newWorld(t)
	w.now = time.Unix(1_000_000, 0)
	w.machine("m1", "pod=a").machine("m2", "pod=a")
	for i := 1; i <= n; i++ {
		w.unit(fmt.Sprintf("web@%d.service", i), append([]string{"SpreadBy=pod"}, fleet...)...)
	}
	w.settle()
	w.publish()
	w.machine("m3", "pod=b")
	return w
}

// podCounts is how many of web@1..n are placed in pod a and pod b (a unit
// placed on two machines counts on each).
func podCounts(w *world, n int) (a, b int) {
	for i := 1; i <= n; i++ {
		for _, m := range w.where(fmt.Sprintf("web@%d.service", i)) {
			if m == "m3" {
				b++
			} else {
				a++
			}
		}
	}
	return a, b
}

// movesBegun counts the move records a plan writes.
func movesBegun(p Plan) int {
	n := 0
	for _, ch := range p.Changes {
		if ch.Move != nil && !ch.Move.IsZero() {
			n++
		}
	}
	return n
}

func moveCodes(mv registry.Move) string {
	return fmt.Sprintf("%s->%s %s%s", mv.From, mv.To, mv.Reason.Code, args(mv.Reason.Args))
}

func TestRebalance(t *testing.T) {
	t.Run("a machine joining a skewed spread: the rate per minute, then balanced", func(t *testing.T) {
		w := skewedPods(t, 4)
		w.rebalance = Rebalance{PerMinute: 1, Threshold: 1}
		perMinute := map[int]int{}
		start := w.now
		for step := 0; step < 40; step++ {
			p := w.step()
			perMinute[int(w.now.Sub(start)/time.Minute)] += movesBegun(p)
			w.publish()
			w.now = w.now.Add(15 * time.Second)
		}
		for minute, n := range perMinute {
			if n > 1 {
				t.Fatalf("minute %d: %d moves, the rate is 1", minute, n)
			}
		}
		if a, b := podCounts(w, 4); a != 2 || b != 2 {
			t.Fatalf("pods %d–%d after 10 minutes, want 2–2", a, b)
		}
		w.settle()
		w.now = w.now.Add(time.Hour)
		w.settle()
		moves := 0
		for _, n := range perMinute {
			moves += n
		}
		if moves != 2 { // 4–0 to 3–1 to 2–2
			t.Fatalf("%d moves, want 2", moves)
		}
		if got := moveCodes(w.moves["web@1.service"]); got != "m1->m3 rebalance-spread(pod,a,b,4,0,3,1)" {
			t.Fatalf("web@1's move %s", got)
		}
		if got := w.moves["web@1.service"].Reason.String(); got != "rebalance: spread over pod (a–b) improved from 4–0 to 3–1" {
			t.Fatalf("words %q", got)
		}
	})
	t.Run("the rate: the minute's moves, then a wake when the oldest leaves the window", func(t *testing.T) {
		w := skewedPods(t, 8)
		w.rebalance = Rebalance{PerMinute: 2, Threshold: 1}
		p := w.step()
		if n := movesBegun(p); n != 2 {
			t.Fatalf("%d moves begun, want 2", n)
		}
		w.publish()
		w.now = w.now.Add(10 * time.Second)
		p = w.step() // the copies left go
		w.publish()
		p = w.step()
		if n := movesBegun(p); n != 0 || !p.Wake.Equal(w.now.Add(50*time.Second)) {
			t.Fatalf("out of moves: %d begun, wake %v, want none and %v", n, p.Wake, w.now.Add(50*time.Second))
		}
		w.now = p.Wake
		if n := movesBegun(w.step()); n != 2 {
			t.Fatalf("%d moves once the minute passed, want 2", n)
		}
	})
	t.Run("hysteresis: no move that gains less than the threshold", func(t *testing.T) {
		w := skewedPods(t, 3) // 3–0: the first move gains 2, the next (2–1 to 1–2) nothing
		w.rebalance = Rebalance{PerMinute: 10, Threshold: 2.5}
		w.settle()
		if a, b := podCounts(w, 3); a != 3 || b != 0 {
			t.Fatalf("pods %d–%d, want 3–0: a gain of 2 is below 2.5", a, b)
		}
		w.rebalance.Threshold = 2
		w.step()
		w.publish()
		for range 10 {
			w.now = w.now.Add(time.Minute)
			w.step()
			w.publish()
		}
		if a, b := podCounts(w, 3); a != 2 || b != 1 {
			t.Fatalf("pods %d–%d, want 2–1 and no flip to 1–2", a, b)
		}
		if len(w.moves) != 1 {
			t.Fatalf("%d moves, want 1", len(w.moves))
		}
	})
	t.Run("opt-out: Rebalance=false, and a rate of 0", func(t *testing.T) {
		w := skewedPods(t, 4, "Rebalance=false")
		w.rebalance = Rebalance{PerMinute: 10, Threshold: 1}
		w.settle()
		if a, b := podCounts(w, 4); a != 4 || b != 0 {
			t.Fatalf("Rebalance=false: pods %d–%d, want 4–0", a, b)
		}
		w = skewedPods(t, 4)
		w.rebalance = Rebalance{PerMinute: 0, Threshold: 1}
		w.settle()
		if a, b := podCounts(w, 4); a != 4 || b != 0 {
			t.Fatalf("rate 0: pods %d–%d, want 4–0", a, b)
		}
	})
	t.Run("strict rules are never broken for a better score", func(t *testing.T) {
		w := skewedPods(t, 4, "MachineMetadata=pod=a")
		w.rebalance = Rebalance{PerMinute: 10, Threshold: 1}
		w.settle()
		if a, b := podCounts(w, 4); a != 4 || b != 0 {
			t.Fatalf("pods %d–%d, want 4–0: pod b is not allowed", a, b)
		}
		w = skewedPods(t, 4)
		w.rebalance = Rebalance{PerMinute: 10, Threshold: 1}
		w.unit("other.service", "MachineMetadata=pod=b", "Conflicts=web@*")
		w.settle()
		if a, b := podCounts(w, 4); a != 4 || b != 0 || w.on("other.service") != "m3" {
			t.Fatalf("pods %d–%d, want 4–0: m3 runs a unit that conflicts with them", a, b)
		}
	})
	t.Run("make-before-break: the old copy stays until the new one is up", func(t *testing.T) {
		w := skewedPods(t, 2)
		w.rebalance = Rebalance{PerMinute: 10, Threshold: 1}
		w.step()
		if got := w.where("web@1.service"); !slices.Equal(got, []string{"m1", "m3"}) {
			t.Fatalf("web@1 on %v, want m1 and m3 while the new copy starts", got)
		}
		if again := w.step(); !again.Empty() {
			t.Fatalf("nothing changed, yet %s", render(again))
		}
		w.publish()
		w.step()
		if got := w.where("web@1.service"); !slices.Equal(got, []string{"m3"}) {
			t.Fatalf("web@1 on %v once m3's copy is up, want m3", got)
		}
		w.publish()
		w.settle()
		if got := moveCodes(w.moves["web@1.service"]); got != "m1->m3 rebalance-spread(pod,a,b,2,0,1,1)" {
			t.Fatalf("move %s", got)
		}
	})
	t.Run("break-before-make for a unit that may not run twice", func(t *testing.T) {
		w := skewedPods(t, 2, "Conflicts=web@*")
		w.rebalance = Rebalance{PerMinute: 10, Threshold: 1}
		w.step()
		if got := w.where("web@1.service"); len(got) != 0 {
			t.Fatalf("web@1 on %v, want nowhere while its copy on m1 stops", got)
		}
		if got := codes(w.unplaced["web@1.service"]); got != "stopping-elsewhere(m1)" {
			t.Fatalf("reason %q", got)
		}
		if p := w.step(); len(w.where("web@1.service")) != 0 || p.Wake.IsZero() {
			t.Fatalf("web@1 placed on %v before its old copy stopped (wake %v)", w.where("web@1.service"), p.Wake)
		}
		w.publish() // m1's agent stopped it: no row
		w.step()
		if got := w.on("web@1.service"); got != "m3" {
			t.Fatalf("web@1 on %q once stopped, want m3", got)
		}
		w.publish()
		w.settle()
		if got := moveCodes(w.moves["web@1.service"]); got != "m1->m3 rebalance-spread(pod,a,b,2,0,1,1)" {
			t.Fatalf("move %s", got)
		}
	})
	t.Run("never moved: Replaces=, followed by MachineOf=, on a draining machine", func(t *testing.T) {
		w := skewedPods(t, 2, "Replaces=zzz.service")
		w.rebalance = Rebalance{PerMinute: 10, Threshold: 1}
		w.settle()
		if a, b := podCounts(w, 2); a != 2 || len(w.moves) != 0 {
			t.Fatalf("Replaces=: pods %d–%d, moves %v", a, b, w.moves)
		}

		w = newWorld(t)
		w.machine("m1").unit("db.service", "SoftConflicts=x.service").unit("x.service").unit("a.service", "MachineOf=db.service")
		w.settle()
		w.publish()
		w.machine("m2")
		w.rebalance = Rebalance{PerMinute: 10, Threshold: 1}
		w.settle()
		if len(w.moves) != 0 || w.on("db.service") != "m1" {
			t.Fatalf("a unit others follow moved: %v", w.moves)
		}

		w = skewedPods(t, 2)
		w.rebalance = Rebalance{PerMinute: 10, Threshold: 1}
		w.drain("m1", Drain{})
		for range 4 {
			w.step()
			w.publish()
		}
		if len(w.moves) != 0 || w.on("web@1.service") == "m1" {
			t.Fatalf("web@1 on %s, moves %v: the drain moves it, rebalancing does not", w.on("web@1.service"), w.moves)
		}
	})
	t.Run("a soft conflict left behind, a preference met, a destroyed unit's record", func(t *testing.T) {
		w := newWorld(t)
		w.now = time.Unix(1_000_000, 0)
		w.machine("m1")
		w.unit("x.service", "SoftConflicts=y.service").unit("y.service")
		w.unit("p.service", "PreferMachineMetadata=disk=ssd:5")
		w.settle()
		w.publish()
		w.machine("m2", "disk=ssd")
		w.rebalance = Rebalance{PerMinute: 10, Threshold: 1}
		w.step()
		w.publish()
		w.step()
		w.publish()
		w.settle()
		if got := moveCodes(w.moves["x.service"]); got != "m1->m2 rebalance-soft-conflicts(1,0)" {
			t.Fatalf("x's move %s", got)
		}
		if got := moveCodes(w.moves["p.service"]); got != "m1->m2 rebalance-prefer(0,5)" {
			t.Fatalf("p's move %s", got)
		}
		delete(w.units, "p.service")
		w.step()
		if _, ok := w.moves["p.service"]; ok {
			t.Fatal("a destroyed unit kept its move record")
		}
		w.settle()
	})
	t.Run("a new leader carries a move on from its record", func(t *testing.T) {
		w := skewedPods(t, 2)
		w.rebalance = Rebalance{PerMinute: 10, Threshold: 1}
		w.step() // web@1 on m1 and m3
		// A fresh scheduler (Schedule keeps nothing between runs) reads the
		// move back: the old copy stays until the new one is up, and nothing
		// else begins.
		if again := w.step(); !again.Empty() {
			t.Fatalf("nothing changed, yet %s", render(again))
		}
		w.publish()
		w.step()
		if got := w.on("web@1.service"); got != "m3" {
			t.Fatalf("web@1 on %q, want m3", got)
		}
	})
}
