package engine

import (
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// vanish takes machine id away as its lease expiring would, and records
// the absence as the Engine would have seen it.
func (w *world) vanish(id string, hold time.Duration) *world {
	w.removeMachine(id)
	if w.absent == nil {
		w.absent = map[string]Absence{}
	}
	w.absent[id] = Absence{Since: w.now, Hold: hold}
	return w
}

func TestAbsentMachines(t *testing.T) {
	const sec = time.Second
	tests := []struct {
		name   string
		build  func(w *world) // units placed on m1 (the lowest ID) before it vanishes
		hold   time.Duration
		margin time.Duration
		later  time.Duration // how long after the vanishing the run decides
		want   map[string]string
		wake   time.Duration     // 0: no wake
		why    map[string]string // unit -> its reason's codes
	}{
		{
			name:  "a machine gone for good (not tracked) loses its units at once",
			build: func(w *world) { w.unit("a.service") },
			later: -1, // not tracked
			want:  map[string]string{"a.service": "m2"},
		},
		{
			name:  "a keep unit moves at once without a hold",
			build: func(w *world) { w.unit("a.service") },
			want:  map[string]string{"a.service": "m2"},
		},
		{
			name:  "the hold keeps a unit where it was",
			build: func(w *world) { w.unit("a.service") },
			hold:  4 * sec, later: 1 * sec,
			want: map[string]string{"a.service": "m1"},
			wake: 4 * sec,
		},
		{
			name:  "the unit moves once the hold is over",
			build: func(w *world) { w.unit("a.service") },
			hold:  4 * sec, later: 4 * sec,
			want: map[string]string{"a.service": "m2"},
		},
		{
			name:   "a unit that stops on disconnect waits the margin",
			build:  func(w *world) { w.unit("web@1.service", "Conflicts=web@*") },
			margin: sec, later: sec / 2,
			want: map[string]string{"web@1.service": "m1"},
			wake: sec,
		},
		{
			name:   "and moves after it",
			build:  func(w *world) { w.unit("web@1.service", "Conflicts=web@*") },
			margin: sec, later: sec,
			want: map[string]string{"web@1.service": "m2"},
		},
		{
			name:   "OnDisconnect=keep does not wait the margin",
			build:  func(w *world) { w.unit("web@1.service", "Conflicts=web@*", "OnDisconnect=keep") },
			margin: sec,
			want:   map[string]string{"web@1.service": "m2"},
		},
		{
			name: "a unit with nowhere to go stays placed where it was",
			build: func(w *world) {
				w.unit("web@1.service", "Conflicts=web@*").unit("web@2.service", "Conflicts=web@*")
			},
			later: 10 * sec,
			want:  map[string]string{"web@1.service": "m1", "web@2.service": "m2"},
			why:   map[string]string{"web@1.service": "on-gone-machine(m1): conflicts(web@*)=1"},
		},
		{
			name:  "a global stays on an absent machine for GhostGlobals",
			build: func(w *world) { w.unit("g.service", "Global=true") },
			later: GhostGlobals - sec,
			want:  map[string]string{"g.service": "m1,m2"},
			wake:  GhostGlobals,
		},
		{
			name:  "then leaves it",
			build: func(w *world) { w.unit("g.service", "Global=true") },
			later: GhostGlobals,
			want:  map[string]string{"g.service": "m2"},
		},
		{
			name: "nothing new is placed on an absent machine, even to follow MachineOf",
			build: func(w *world) {
				w.unit("db.service", "MachineID=m1")
			},
			hold: 4 * sec, later: sec,
			want: map[string]string{"db.service": "m1", "app.service": ""},
			wake: 4 * sec,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			w.now, w.margin = t0, tc.margin
			w.machine("m1").machine("m2")
			tc.build(w)
			w.settle()
			if tc.later < 0 {
				w.removeMachine("m1")
			} else {
				w.vanish("m1", tc.hold)
				w.now = t0.Add(tc.later)
			}
			if tc.want["app.service"] == "" {
				if _, ok := tc.want["app.service"]; ok {
					w.unit("app.service", "MachineOf=db.service")
				}
			}
			plan := w.step()
			for u, m := range tc.want {
				if got := w.on(u); got != m {
					t.Errorf("%s on %q, want %q", u, got, m)
				}
			}
			var wantWake time.Time
			if tc.wake > 0 {
				wantWake = t0.Add(tc.wake)
			}
			if !plan.Wake.Equal(wantWake) {
				t.Errorf("wake %v, want %v", plan.Wake, wantWake)
			}
			if again := w.step(); !again.Empty() {
				t.Errorf("a second run at the same time changed %+v", again.Changes)
			}
			for u, why := range tc.why {
				if got := codes(w.unplaced[u]); got != why {
					t.Errorf("%s: reason %q, want it to contain %q", u, got, why)
				}
			}
		})
	}
}

// TestReturningMachineKeepsItsUnits: a machine back within the hold finds
// its units placed on it, so its agent restarts nothing.
func TestReturningMachineKeepsItsUnits(t *testing.T) {
	w := newWorld(t)
	w.now = t0
	w.machine("m1").machine("m2").unit("a.service").unit("g.service", "Global=true")
	w.settle()
	w.vanish("m1", 4*time.Second)
	w.now = t0.Add(time.Second)
	w.settle()
	w.machine("m1")
	delete(w.absent, "m1")
	w.now = t0.Add(5 * time.Second)
	if plan := w.step(); !plan.Empty() {
		t.Fatalf("the machine's return changed %+v", plan.Changes)
	}
	if w.on("a.service") != "m1" || w.on("g.service") != "m1,m2" {
		t.Fatalf("a on %s, g on %s", w.on("a.service"), w.on("g.service"))
	}
}
