package unit

import "fmt"

// Disconnect is what a machine cut off from etcd does with a unit, and so
// what the engine may do with the unit once that machine's lease expired
// (Nomad's disconnect block; `OnDisconnect=` in [X-Fleet]).
type Disconnect string

const (
	// DisconnectDefault defers to the cluster's default (flotad
	// --on-disconnect), which is DisconnectAuto unless set otherwise.
	DisconnectDefault Disconnect = ""
	// DisconnectAuto is stop for a unit with Conflicts=, keep for others
	// and for every global unit.
	DisconnectAuto Disconnect = "auto"
	// DisconnectStop: at most one copy ever. The agent stops the unit
	// before its machine's lease can expire, counted from etcd's last
	// answer, and the engine places it elsewhere only after the lease has
	// expired plus a margin. A partition costs the unit its availability
	// until it is placed again, and so does an etcd outage longer than the
	// lease.
	DisconnectStop Disconnect = "stop"
	// DisconnectKeep: availability first. The unit runs on through a
	// partition, and the engine starts a replacement once the lease
	// expired: for the rest of the partition two copies run. When the
	// machine comes back its copy is stopped, unless it is placed there.
	DisconnectKeep Disconnect = "keep"
)

// ParseDisconnect reads an OnDisconnect= value or flotad's --on-disconnect.
func ParseDisconnect(v string) (Disconnect, error) {
	switch d := Disconnect(v); d {
	case DisconnectAuto, DisconnectStop, DisconnectKeep:
		return d, nil
	}
	return "", fmt.Errorf("want stop, keep or auto")
}

// StopsOnDisconnect is the one rule, for agent and engine alike, of whether
// the unit must be stopped on a machine that lost etcd: its own
// OnDisconnect=, else the cluster's default def; auto means stop for units
// that declare Conflicts= (they say that copies must not meet), keep for
// the rest, and keep for a global unit whatever it declares: a global is
// never moved elsewhere, so stopping it would only lose it.
func (r Requirements) StopsOnDisconnect(def Disconnect) bool {
	d := r.OnDisconnect
	if d == DisconnectDefault || d == DisconnectAuto {
		d = def
	}
	switch d {
	case DisconnectStop:
		return true
	case DisconnectKeep:
		return false
	}
	return !r.Global && len(r.Conflicts) > 0
}
