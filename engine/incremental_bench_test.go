package engine

import (
	"fmt"
	"testing"

	"github.com/flota-dev/flota/registry"
)

// BenchmarkIncrementalScale is BenchmarkScheduleScale's clusters, settled,
// each pass an incremental one (State.Next) from the state the one before
// left: a pass with nothing changed, one unit added (a plain unit, and an
// instance of a template with Conflicts=), one placed unit stopped, a
// machine lost, one unit destroyed. Each iteration changes the cluster the next one starts from,
// as the Engine's passes do.
//
//	go test -run=^$ -bench=IncrementalScale -benchtime=200x ./engine/
func BenchmarkIncrementalScale(b *testing.B) {
	for _, size := range []struct{ machines, units int }{{1000, 10000}, {5000, 150000}} {
		settled := settledWithReasons(scaleInput(b, size.machines, size.units))
		name := fmt.Sprintf("%dm-%du", size.machines, size.units)
		hash, desired := settled.Units[len(settled.Units)-1].Hash, registry.StateLaunched
		// One chain of states for all the cases below: each leaves the
		// cluster settled for the next.
		plan, st := ScheduleState(settled)
		if !plan.Empty() {
			b.Fatalf("settled cluster changed: %d changes", len(plan.Changes))
		}
		pass := func(b *testing.B, d Delta, want int) {
			b.Helper()
			d.Unplaced, d.SameMachines = settled.Unplaced, true
			p, next := st.Next(d)
			if next.Whole != "" {
				b.Fatalf("a whole run: %s", next.Whole)
			}
			if len(p.Changes) != want {
				b.Fatalf("%d changes, want %d: %s", len(p.Changes), want, renderFull(p))
			}
			st = next
		}
		b.Run(name+"/nothing-changed", func(b *testing.B) {
			for range b.N {
				pass(b, Delta{}, 0)
			}
		})
		var plain []string                // the plain units added, in order
		up := map[string]registry.State{} // and their desired states
		instances := 0
		b.Run(name+"/one-unit-added", func(b *testing.B) {
			for range b.N {
				u := Unit{Name: fmt.Sprintf("one-more-%07d.service", len(plain)), Hash: hash, Desired: desired}
				plain = append(plain, u.Name)
				up[u.Name] = desired
				pass(b, Delta{Input: Input{Units: []Unit{u}}, Changed: []string{u.Name}}, 1)
			}
		})
		b.Run(name+"/a-submit-of-5000-units", func(b *testing.B) {
			for range b.N {
				var d Delta
				for range 5000 {
					u := Unit{Name: fmt.Sprintf("batch-%07d.service", len(plain)), Hash: hash, Desired: desired}
					plain = append(plain, u.Name)
					up[u.Name] = desired
					d.Units = append(d.Units, u)
					d.Changed = append(d.Changed, u.Name)
				}
				pass(b, d, 5000)
			}
		})
		b.Run(name+"/a-submit-of-5000-instances-of-new-templates", func(b *testing.B) {
			for range b.N {
				var d Delta
				for range 5000 {
					n := instances
					instances++
					u := Unit{Name: fmt.Sprintf("tmpl%07d@%d.service", n/30, n%30), Desired: desired}
					u.Req.Conflicts = []string{fmt.Sprintf("tmpl%07d@*", n/30)}
					d.Units = append(d.Units, u)
					d.Changed = append(d.Changed, u.Name)
				}
				pass(b, d, 5000)
			}
		})
		b.Run(name+"/one-instance-added", func(b *testing.B) {
			var tmpl Unit
			for _, u := range settled.Units {
				if len(u.Req.Conflicts) > 0 && u.Name[:3] == "web" {
					tmpl = u
					break
				}
			}
			for range b.N {
				u := tmpl
				u.Name = fmt.Sprintf("web0000@%d.service", 1000+instances)
				instances++
				pass(b, Delta{Input: Input{Units: []Unit{u}}, Changed: []string{u.Name}}, 1)
			}
		})
		turn := 0
		b.Run(name+"/one-unit-stopped-or-started", func(b *testing.B) {
			for range b.N {
				n := plain[turn%len(plain)]
				turn++
				if up[n] == desired {
					up[n] = registry.StateInactive
				} else {
					up[n] = desired
				}
				d := Delta{Input: Input{Units: []Unit{{Name: n, Hash: hash, Desired: up[n]}}}, Changed: []string{n}}
				d.Placements = st.s.current[n]
				pass(b, d, 1)
			}
		})
		machines := settled.Machines
		// losing passes with the machines that keep leaves, each gone for
		// good (no absence: its units move at once).
		losing := func(keep func([]Machine) []Machine) func(b *testing.B) {
			return func(b *testing.B) {
				moved := 0
				for range b.N {
					machines = keep(machines)
					p, next := st.Next(Delta{Input: Input{Machines: machines, Unplaced: settled.Unplaced}})
					if next.Whole != "" {
						b.Fatalf("a whole run: %s", next.Whole)
					}
					moved = len(p.Changes)
					st = next
				}
				b.ReportMetric(float64(moved), "changes")
			}
		}
		b.Run(name+"/one-machine-lost", losing(func(ms []Machine) []Machine { return ms[1:] }))
		b.Run(name+"/tenth-of-the-machines-lost", losing(func(ms []Machine) []Machine { return ms[len(ms)/10:] }))
		b.Run(name+"/one-unit-destroyed", func(b *testing.B) {
			for range b.N {
				if len(plain) == 0 {
					b.Skip("nothing left to destroy")
				}
				n := plain[len(plain)-1]
				plain = plain[:len(plain)-1]
				d := Delta{Changed: []string{n}}
				d.Placements = st.s.current[n]
				want := 0
				if len(d.Placements) > 0 {
					want = 1
				}
				pass(b, d, want)
			}
		})
	}
}
