package engine

import (
	"sort"
	"strings"

	"github.com/flota-dev/flota/reason"
	"github.com/flota-dev/flota/unit"
)

// metadataChecker enforces MachineMetadata=: fleet's k=v (AND across keys,
// OR among the values of one key; a machine without the key fails) and the
// other expressions (unit.MetadataExpr), all of which must hold.
type metadataChecker struct{}

func (metadataChecker) feasible(u *Unit, m *machineState) bool {
	return (len(u.Req.MachineMetadata) == 0 && len(u.Req.MetadataExprs) == 0) || u.Req.MatchesMetadata(m.Metadata)
}

func (c metadataChecker) check(u *Unit, m *machineState) reason.Refusal {
	if c.feasible(u, m) {
		return reason.Refusal{}
	}
	return reason.Refuse(reason.MachineMetadata, describeMetadata(u.Req.MachineMetadata, u.Req.MetadataExprs))
}

// describeMetadata words a requirement the way it was written: "zone=dmz",
// or "region=us-east|us-west" for alternatives, sorted for stable output,
// then the other expressions in the order written ("zone=dmz cpus>=4").
func describeMetadata(md map[string][]string, exprs []unit.MetadataExpr) string {
	keys := make([]string, 0, len(md))
	for k := range md {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + strings.Join(md[k], "|")
	}
	for _, e := range exprs {
		parts = append(parts, e.String())
	}
	return strings.Join(parts, " ")
}
