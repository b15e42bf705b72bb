package engine

import (
	"strconv"

	"github.com/flota-dev/flota/unit"
)

// resourcesChecker keeps a machine's reservations within its capacity: u
// fits when what the units already on the machine in this run reserve,
// plus u's own reservation, is at most what the machine published, in
// memory, CPU and disk alike. A dimension the machine did not publish
// (an older agent) constrains nothing, nor does one u reserves none of; a
// unit that reserves nothing fits anywhere, as in fleet. Units that u
// replaces there do not count: placing u evicts them.
//
// Memory and CPU count against the machine's whole (MemTotal, its CPUs).
// Disk counts against the space its agent found free when it started, as
// in Nomad: the disk also holds images and the system, and quotas are
// promises on what is left.
type resourcesChecker struct{}

func (c resourcesChecker) feasible(u *Unit, m *machineState) bool {
	if u.Resources.IsZero() {
		return true
	}
	_, short := c.shortage(u, m)
	return !short
}

func (c resourcesChecker) check(u *Unit, m *machineState) string {
	if u.Resources.IsZero() {
		return ""
	}
	s, short := c.shortage(u, m)
	if !short {
		return ""
	}
	// The amount asked is named, not what is free, so that the machines
	// short of room count as one line of the explanation; and it is said
	// when a machine could never hold the unit, as no waiting helps then.
	why := "insufficient " + s.dim + " (" + s.format(s.ask) + " asked"
	if s.never {
		why += ", more than the machine has"
	}
	return why + ")"
}

// shortage is the first dimension in which u does not fit.
type shortage struct {
	dim    string
	ask    uint64
	never  bool // u asks more than the machine's whole capacity
	format func(uint64) string
}

// shortage finds the first dimension, of memory, CPU and disk, in which u
// does not fit on m; short is false when it fits in all three. It costs the
// same however many units m runs, but for a u with Replaces=.
func (resourcesChecker) shortage(u *Unit, m *machineState) (s shortage, short bool) {
	ask, used, c := u.Resources, m.reserved, m.Capacity
	if len(u.Req.Replaces) > 0 {
		used = minus(used, replacedOn(u, m))
	}
	dims := [...]struct {
		shortage
		used, capacity uint64
		known          bool
	}{
		{shortage{"memory", ask.MemoryBytes, false, formatBytes}, used.MemoryBytes, c.MemoryBytes, c.MemoryBytes > 0},
		{shortage{"CPU", ask.MilliCPUs, false, formatCPUs}, used.MilliCPUs, uint64(max(c.CPUs, 0)) * 1000, c.CPUs > 0},
		{shortage{"disk", ask.DiskBytes, false, formatBytes}, used.DiskBytes, c.DiskFreeBytes, c.DiskBytes > 0},
	}
	for _, d := range dims {
		switch {
		case d.ask == 0 || !d.known:
		case d.ask > d.capacity:
			d.never = true
			return d.shortage, true
		case d.used > d.capacity-d.ask:
			return d.shortage, true
		}
	}
	return shortage{}, false
}

// replacedOn sums what the units u would evict from m reserve: those
// place removes.
func replacedOn(u *Unit, m *machineState) unit.Resources {
	var r unit.Resources
	for _, v := range m.units {
		if evicts(u, v) {
			r.MemoryBytes += v.Resources.MemoryBytes
			r.MilliCPUs += v.Resources.MilliCPUs
			r.DiskBytes += v.Resources.DiskBytes
		}
	}
	return r
}

// minus is a - b for b a part of a.
func minus(a, b unit.Resources) unit.Resources {
	return unit.Resources{
		MemoryBytes: a.MemoryBytes - b.MemoryBytes,
		MilliCPUs:   a.MilliCPUs - b.MilliCPUs,
		DiskBytes:   a.DiskBytes - b.DiskBytes,
	}
}

// formatBytes words a size in binary units, to one decimal: "512 MiB",
// "1.5 GiB".
func formatBytes(n uint64) string {
	const units = "KMGTPE"
	if n < 1024 {
		return strconv.FormatUint(n, 10) + " B"
	}
	i, div := 0, uint64(1024)
	for i+1 < len(units) && n/div >= 1024 {
		i, div = i+1, div*1024
	}
	return trimZero(strconv.FormatFloat(float64(n)/float64(div), 'f', 1, 64)) + " " + units[i:i+1] + "iB"
}

// formatCPUs words thousandths of a CPU: "1.5 CPUs", "1 CPU".
func formatCPUs(milli uint64) string {
	s := strconv.FormatFloat(float64(milli)/1000, 'f', -1, 64)
	if milli == 1000 {
		return s + " CPU"
	}
	return s + " CPUs"
}

func trimZero(s string) string {
	if len(s) > 2 && s[len(s)-2:] == ".0" {
		return s[:len(s)-2]
	}
	return s
}
