package registry

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/flota-dev/flota/reason"
)

// Move is the last move the Engine made of a Unit that nothing forced to
// move (rebalancing): from one machine to another, since when, and why. It
// is written in the transaction that places the unit anew, so an Engine
// that takes over sees the move in flight and carries it on, and counts
// the moves of the last minute against the rate limit as its predecessor
// did. It stays, for list-unit-files, until the unit is destroyed.
type Move struct {
	Unit     string
	From, To string // machine IDs
	Since    time.Time
	Reason   reason.Moved
}

// IsZero says there is no move: in a Change, delete the record.
func (m Move) IsZero() bool { return m.From == "" && m.To == "" && m.Since.IsZero() }

type moveValue struct {
	From   string       `json:"from"`
	To     string       `json:"to"`
	Since  time.Time    `json:"since"`
	Reason reason.Moved `json:"reason"`
}

func encodeMove(m Move) string {
	return mustJSON(moveValue{From: m.From, To: m.To, Since: m.Since.UTC(), Reason: m.Reason})
}

func decodeMove(name string, data []byte) (Move, error) {
	var v moveValue
	if err := json.Unmarshal(data, &v); err != nil {
		return Move{}, fmt.Errorf("move of %s: corrupt record: %w", name, err)
	}
	return Move{Unit: name, From: v.From, To: v.To, Since: v.Since, Reason: v.Reason}, nil
}
