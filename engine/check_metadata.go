package engine

import (
	"sort"
	"strings"
)

// metadataChecker enforces MachineMetadata=: AND across keys, OR among the
// values of one key; a machine without the key fails.
type metadataChecker struct{}

func (metadataChecker) feasible(u *Unit, m *machineState) bool {
	return len(u.Req.MachineMetadata) == 0 || u.Req.MatchesMetadata(m.Metadata)
}

func (c metadataChecker) check(u *Unit, m *machineState) string {
	if c.feasible(u, m) {
		return ""
	}
	return "MachineMetadata " + describeMetadata(u.Req.MachineMetadata)
}

// describeMetadata words a requirement the way it was written: "zone=dmz",
// or "region=us-east|us-west" for alternatives, sorted for stable output.
func describeMetadata(md map[string][]string) string {
	keys := make([]string, 0, len(md))
	for k := range md {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + strings.Join(md[k], "|")
	}
	return `"` + strings.Join(parts, " ") + `"`
}
