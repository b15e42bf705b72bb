package agent

import "github.com/flota-dev/flota/reason"

// holdBack is why the Agent holds a placed unit back from systemd (a
// reason.Condition, with its detail): published beside systemd's view of
// the name as notFound: flota loaded nothing under it (a name taken by a
// unit of the machine's own is loaded, but not as this unit).
type holdBack struct {
	cond   reason.Condition
	detail string
}
