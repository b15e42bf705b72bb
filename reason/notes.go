package reason

import (
	"encoding/json"
	"slices"
	"strings"
)

// Note is a soft rule a placed Unit's machine does not honour: when the
// unit was placed no machine that honoured it could take it (soft rules
// never keep a unit from running), or the cluster changed since and the
// unit stayed (only rebalancing moves a placed unit for a soft rule, within
// its rate, and not at all with Rebalance=false). The Engine says which rule. A note names the rule and what stands in its way, not
// counts that move with every placement of its group, so a unit's notes
// are rewritten only when it starts or stops honouring a rule.
type Note struct {
	Code Code     `json:"code"`
	Args []string `json:"args,omitempty"`
	// Filters say why no machine took the unit, for DrainStuck.
	Filters []Filter `json:"filters,omitempty"`
}

// The codes of a Note.
const (
	// SoftConflictsShared: the unit shares its machine with units its
	// SoftConflicts= (or theirs) would keep apart. Args: those units.
	SoftConflictsShared Code = "soft-conflicts-shared"
	// SpreadUneven: the unit's value of a SpreadBy= key holds more of its
	// group than the emptiest value it could use (or, with SpreadTarget=,
	// more than its share). Args: the key, the value; the key alone when
	// the machine has none.
	SpreadUneven Code = "spread-uneven"
	// PreferUnmet: the machine fails a PreferMachineMetadata= expression of
	// positive weight. Args: the expression.
	PreferUnmet Code = "prefer-unmet"
	// AvoidMatched: the machine satisfies a PreferMachineMetadata=
	// expression of negative weight. Args: the expression.
	AvoidMatched Code = "avoid-matched"
	// SkewExceeded: a MaxSkew= that places anyway could not hold. Args:
	// the rule, the key's value the unit is on.
	SkewExceeded Code = "max-skew-exceeded"
	// DrainStuck: the unit runs on a machine being drained and no other
	// machine takes it; it keeps running there until one does, the drain's
	// deadline, or a forced drain. Args: the machine. Filters: why no other.
	DrainStuck Code = "drain-stuck"
)

// NotesEqual says whether two lists of notes mean the same.
func NotesEqual(a, b []Note) bool {
	return slices.EqualFunc(a, b, func(x, y Note) bool {
		return x.Code == y.Code && slices.Equal(x.Args, y.Args) && Unplaced{Filters: x.Filters}.Equal(Unplaced{Filters: y.Filters})
	})
}

// EncodeNotes is the stored form of a unit's notes.
func EncodeNotes(ns []Note) []byte {
	b, err := json.Marshal(ns)
	if err != nil { // strings only: cannot fail
		panic(err)
	}
	return b
}

// DecodeNotes reads stored notes; what is not a list of notes reads as one
// Text note, so it is still shown.
func DecodeNotes(b []byte) []Note {
	var ns []Note
	if json.Unmarshal(b, &ns) == nil {
		return ns
	}
	return []Note{{Code: Text, Args: []string{string(b)}}}
}

// String words n for an operator, as flotactl shows it.
func (n Note) String() string {
	a := n.Args
	switch n.Code {
	case SoftConflictsShared:
		return "SoftConflicts: shares its machine with " + strings.Join(a, ", ")
	case SpreadUneven:
		if len(a) < 2 {
			return "spread over " + arg(a, 0) + ": the machine has no " + arg(a, 0)
		}
		return "spread over " + arg(a, 0) + ": " + arg(a, 0) + "=" + arg(a, 1) + " holds more of the group than its share"
	case PreferUnmet:
		return `PreferMachineMetadata "` + arg(a, 0) + `": not met`
	case AvoidMatched:
		return `PreferMachineMetadata "` + arg(a, 0) + `": met, and avoided`
	case SkewExceeded:
		return `MaxSkew "` + arg(a, 0) + `": ` + arg(a, 1) + " is above the skew"
	case DrainStuck:
		rest := "no machines registered"
		if len(n.Filters) > 0 {
			rest = Unplaced{Filters: n.Filters}.filtered()
		}
		return "stays on the machine being drained, as nothing else takes it: " + rest
	case Text:
		return arg(a, 0)
	}
	return string(n.Code) + " " + strings.Join(a, " ")
}

// Notes words a unit's notes on one line, "; " between them.
func Notes(ns []Note) string {
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = n.String()
	}
	return strings.Join(parts, "; ")
}
