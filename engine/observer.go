package engine

import (
	"iter"
	"time"

	"github.com/flota-dev/flota/reason"
)

// Observer is told what the Engine does, for its metrics (package
// metrics). Each call must return at once: it is made from the Engine's
// loop.
type Observer interface {
	// Leading: this Engine began (true) or stopped leading.
	Leading(on bool)
	// Pass: one scheduling pass, whole or incremental, how long it took
	// (build, schedule, apply), the units whose records it changed, the
	// placements it wrote and removed, and whether its plan failed to
	// apply.
	Pass(whole bool, took time.Duration, units, put, removed int, err error)
	// Unplaced: the reasons of the units that cannot be placed, as the
	// pass left them, one by one (no copy of them is made for it).
	Unplaced(records iter.Seq[reason.Unplaced])
}

// noObserver is the Observer of an Engine given none.
type noObserver struct{}

func (noObserver) Leading(bool)                                   {}
func (noObserver) Pass(bool, time.Duration, int, int, int, error) {}
func (noObserver) Unplaced(iter.Seq[reason.Unplaced])             {}
