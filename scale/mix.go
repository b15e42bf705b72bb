package scale

import (
	"fmt"

	"github.com/flota-dev/flota/unit"
)

// mix is the units a run submits, and what placing them all gives.
type mix struct {
	files      []*unit.File
	placements int             // placement keys once all is placed (a global counts once per machine)
	unplaced   int             // units that cannot be placed
	stuck      map[string]bool // units that cannot move off a dead machine: each live one holds a solo@ already
}

const (
	globals      = 4  // one per zone: Global=true, MachineMetadata=zone=zN
	perTemplate  = 30 // instances of each web template (Conflicts= on its own instances)
	unplaceableZ = "nowhere"
)

// newMix makes units units for machines machines with zone and rack
// metadata as sim.Metadata(zones, racks) gives, pct percent of them
// unplaceable: half by MachineMetadata=zone=nowhere (no machine has it),
// half instances of solo@ (Conflicts=solo@*) beyond the one every
// machine takes. The rest: Global units, web template instances with
// Conflicts=, units bound by zone and rack, and plain units.
func newMix(machines, units, zones, racks int, pct float64, metadata func(i int) map[string]string) (mix, error) {
	unplaceable := int(float64(units)*pct/100 + 0.999)
	nowhere := unplaceable / 2
	overflow := unplaceable - nowhere
	rest := units - globals - nowhere - machines - overflow
	if zones < globals || racks < 2 || machines < perTemplate || rest < 0 {
		return mix{}, fmt.Errorf("a mix of %d units on %d machines needs at least %d zones, 2 racks, %d machines, and %d units (a solo@ per machine and the unplaceable ones)",
			units, machines, globals, perTemplate, globals+nowhere+machines+overflow)
	}
	m := mix{unplaced: unplaceable, stuck: map[string]bool{}}
	var err error
	add := func(name, text string) {
		f, perr := unit.Parse(name, []byte(text))
		if perr != nil && err == nil {
			err = perr
		}
		m.files = append(m.files, f)
	}
	for g := range globals {
		add(fmt.Sprintf("global%d.service", g), fmt.Sprintf("[Service]\nExecStart=/bin/agent %d\n\n[X-Fleet]\nGlobal=true\nMachineMetadata=zone=z%d\n", g, g))
		for i := range machines {
			if metadata(i)["zone"] == fmt.Sprintf("z%d", g) {
				m.placements++
			}
		}
	}
	solo := "[Service]\nExecStart=/bin/solo %i\n\n[X-Fleet]\nConflicts=solo@*\n"
	for i := range machines + overflow {
		name := fmt.Sprintf("solo@%d.service", i+1)
		add(name, solo)
		m.stuck[name] = true
	}
	m.placements += machines
	for i := range nowhere {
		add(fmt.Sprintf("nowhere%06d.service", i), fmt.Sprintf("[Service]\nExecStart=/bin/nowhere %d\n\n[X-Fleet]\nMachineMetadata=zone=%s\n", i, unplaceableZ))
	}
	for i := range rest {
		switch i % 10 {
		case 0, 1, 2, 3: // template instances that conflict with each other
			w := i/10*4 + i%10
			t := w / perTemplate
			add(fmt.Sprintf("web%04d@%d.service", t, w%perTemplate+1), fmt.Sprintf("[Service]\nExecStart=/bin/web %%i\n\n[X-Fleet]\nConflicts=web%04d@*\n", t))
		case 4, 5, 6: // bound by zone, and one of two racks: those of two machines
			a, b := metadata(i%machines), metadata((i+1)%machines)
			add(fmt.Sprintf("zoned%06d.service", i), fmt.Sprintf("[Service]\nExecStart=/bin/zoned %d\n\n[X-Fleet]\nMachineMetadata=zone=%s\nMachineMetadata=\"rack=%s\" \"rack=%s\"\n",
				i, a["zone"], a["rack"], b["rack"]))
		default:
			add(fmt.Sprintf("plain%06d.service", i), fmt.Sprintf("[Service]\nExecStart=/bin/plain %d\n", i))
		}
		m.placements++
	}
	return m, err
}
