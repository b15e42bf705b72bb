package reason

import (
	"slices"
	"strings"
)

// Moved is why the Engine moved a placed Unit that nothing forced to move:
// rebalancing, for the soft rule that gained the most. It is stored in the
// unit's move record (registry.Move), and worded here, once.
type Moved struct {
	Code Code     `json:"code"`
	Args []string `json:"args,omitempty"`
}

// The codes of a Moved: one per kind of soft rule, and load.
const (
	// RebalanceSpread: a SpreadBy= key's counts of the group evened out.
	// Args: the key, the value left, the value taken, then the group's
	// units on the two before the move and after it (four counts).
	RebalanceSpread Code = "rebalance-spread"
	// RebalanceSoftConflicts: fewer units it soft-conflicts with share its
	// machine. Args: how many before, how many after.
	RebalanceSoftConflicts Code = "rebalance-soft-conflicts"
	// RebalancePrefer: its PreferMachineMetadata= score rose. Args: the
	// score before, the score after.
	RebalancePrefer Code = "rebalance-prefer"
	// RebalanceSkew: a MaxSkew= that places anyway is broken by less.
	// Args: the rule, units above the skew before, after.
	RebalanceSkew Code = "rebalance-max-skew"
	// RebalanceLoad: from a machine holding LoadGap units more than the
	// one it went to. Args: the units on the machine left and on the one
	// taken before the move, then after it.
	RebalanceLoad Code = "rebalance-load"
)

// IsZero says there is no move.
func (m Moved) IsZero() bool { return m.Code == "" }

// Equal says whether two reasons mean the same.
func (m Moved) Equal(o Moved) bool { return m.Code == o.Code && slices.Equal(m.Args, o.Args) }

// String words m for an operator, e.g. "rebalance: spread over pod (a–b)
// improved from 3–1 to 2–2".
func (m Moved) String() string {
	a := m.Args
	switch m.Code {
	case "":
		return ""
	case RebalanceSpread:
		return "rebalance: spread over " + arg(a, 0) + " (" + arg(a, 1) + "–" + arg(a, 2) + ") improved from " +
			arg(a, 3) + "–" + arg(a, 4) + " to " + arg(a, 5) + "–" + arg(a, 6)
	case RebalanceSoftConflicts:
		return "rebalance: units it soft-conflicts with on its machine down from " + arg(a, 0) + " to " + arg(a, 1)
	case RebalancePrefer:
		return "rebalance: PreferMachineMetadata score up from " + arg(a, 0) + " to " + arg(a, 1)
	case RebalanceLoad:
		return "rebalance: load evened from " + arg(a, 0) + "–" + arg(a, 1) + " to " + arg(a, 2) + "–" + arg(a, 3) + " units"
	case RebalanceSkew:
		return `rebalance: MaxSkew "` + arg(a, 0) + `" exceeded by ` + arg(a, 1) + " before, " + arg(a, 2) + " after"
	}
	return string(m.Code) + " " + strings.Join(a, " ")
}
