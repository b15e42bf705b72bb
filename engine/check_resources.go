package engine

import (
	"strconv"

	"github.com/flota-dev/flota/reason"
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

func (c resourcesChecker) check(u *Unit, m *machineState) reason.Refusal {
	if u.Resources.IsZero() {
		return reason.Refusal{}
	}
	s, short := c.shortage(u, m)
	if !short {
		return reason.Refusal{}
	}
	// The amount asked is named, not what is free, so that the machines
	// short of room count as one filter; and a machine that could never
	// hold the unit has its own code, as no waiting helps then.
	code := reason.Insufficient
	if s.never {
		code = reason.ExceedsCapacity
	}
	return reason.Refuse(code, s.dim, strconv.FormatUint(s.ask, 10))
}

// shortage is the first dimension in which u does not fit.
type shortage struct {
	dim   string
	ask   uint64
	never bool // u asks more than the machine's whole capacity
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
		{shortage{"memory", ask.MemoryBytes, false}, used.MemoryBytes, c.MemoryBytes, c.MemoryBytes > 0},
		{shortage{"CPU", ask.MilliCPUs, false}, used.MilliCPUs, uint64(max(c.CPUs, 0)) * 1000, c.CPUs > 0},
		{shortage{"disk", ask.DiskBytes, false}, used.DiskBytes, c.DiskFreeBytes, c.DiskBytes > 0},
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
