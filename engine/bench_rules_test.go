package engine_test

import (
	"testing"

	"github.com/flota-dev/flota/engine"
	"github.com/flota-dev/flota/unit"
)

// BenchmarkPlacementRules is BenchmarkPlacement on the group-rule mix of
// BenchmarkScheduleRules (issue 9): 1,000 machines in 10 racks × 3 zones,
// 10,000 units, a third spread over rack and zone (SpreadBy=), a third with
// strict (DistinctBy=) or soft (SoftConflicts=) anti-affinity, the rest
// plain, placed through the real registry and Engine on an embedded etcd.
//
//	go test -run=^$ -bench=PlacementRules -benchtime=1x ./engine/
func BenchmarkPlacementRules(b *testing.B) {
	if engine.RulesMachines != benchMachines {
		b.Fatalf("the rule mix wants %d machines, the placement benchmark registers %d", engine.RulesMachines, benchMachines)
	}
	for range b.N {
		benchPlacementOnce(b, engine.RulesMachineMetadata, rulesUnitFiles)
	}
}

// rulesUnitFiles returns the units of engine.RulesMix, one placement each.
func rulesUnitFiles(b *testing.B) ([]*unit.File, int) {
	var files []*unit.File
	engine.RulesMix(func(name, fleet string) {
		f, err := unit.Parse(name, []byte("[Service]\nExecStart=/bin/true\n[X-Fleet]\n"+fleet))
		if err != nil {
			b.Fatal(err)
		}
		files = append(files, f)
	})
	return files, len(files)
}
