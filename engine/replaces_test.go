package engine

import (
	"slices"
	"testing"
)

// TestEvictsAgreesEverywhere: the scenarios where Replaces= meets Global=
// and Conflicts=, from the report that three rules once disagreed on them
// (a Global unit with Conflicts=new and new with Replaces= on one machine
// were both placed for a pass, and the next pass took one back). Every
// case must keep Conflicts= and settle in one pass.
func TestEvictsAgreesEverywhere(t *testing.T) {
	cases := []struct {
		name  string
		build func(w *world)
		want  map[string][]string // unit -> machines after the run
	}{
		{
			name: "new replaces a plain unit next to a global that conflicts with new",
			build: func(w *world) {
				w.machine("m1")
				w.unit("g.service", "Global=true", "Conflicts=new.service")
				w.unit("old.service")
				w.settle()
				w.unit("new.service", "Replaces=old.service")
			},
			want: map[string][]string{"g.service": {"m1"}, "old.service": {"m1"}, "new.service": nil},
		},
		{
			name: "new replaces the global that conflicts with it: the global stays",
			build: func(w *world) {
				w.machine("m1")
				w.unit("g.service", "Global=true", "Conflicts=new.service")
				w.settle()
				w.unit("new.service", "Replaces=g.service")
			},
			want: map[string][]string{"g.service": {"m1"}, "new.service": nil},
		},
		{
			name: "a replacer of a global does not keep the global off its machine",
			build: func(w *world) {
				w.machine("m1").machine("m2")
				w.unit("new.service", "Replaces=g.service")
				w.settle()
				w.unit("g.service", "Global=true")
			},
			want: map[string][]string{"g.service": {"m1", "m2"}, "new.service": {"m1"}},
		},
		{
			name: "both arrive together on two machines",
			build: func(w *world) {
				w.machine("m1", "slot=a").machine("m2")
				w.unit("g.service", "Global=true")
				w.unit("h.service", "Global=true", "Conflicts=new.service", "MachineMetadata=slot=a")
				w.unit("old.service", "MachineID=m1")
				w.unit("new.service", "Replaces=old.service h.service")
			},
			want: map[string][]string{"g.service": {"m1", "m2"}, "h.service": {"m1"}, "old.service": {"m1"}, "new.service": {"m2"}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			c.build(w)
			w.settle() // fails on a second non-empty plan
			checkInvariants(t, w)
			for u, want := range c.want {
				if got := w.where(u); !slices.Equal(got, want) {
					t.Errorf("%s on %v, want %v", u, got, want)
				}
			}
		})
	}
}
