package engine

import (
	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/unit"
)

// inputs builds Schedule's Input from the Engine's cache. A unit's
// requirements come from the [X-Fleet] options in its record, resolved for
// its name, and are memoized by name and hash: a pass over ten thousand
// unchanged units parses nothing. Its reservations and the machines'
// capacities are copied from their records as they are.
type inputs struct {
	reqs map[reqKey]reqResult
}

type reqKey struct {
	name string
	hash unit.Hash
}

type reqResult struct {
	req unit.Requirements
	err error
}

func newInputs() *inputs {
	return &inputs{reqs: map[reqKey]reqResult{}}
}

func (in *inputs) build(c *registry.Cluster) Input {
	out := Input{
		Machines: make([]Machine, 0, len(c.Machines)),
		Units:    make([]Unit, 0, len(c.Units)),
		Unplaced: c.Unplaced,
		Notes:    c.Notes,
	}
	out.Machines = in.machines(c)
	for _, u := range c.Units {
		out.Units = append(out.Units, in.unit(u))
	}
	in.drainsAndMoves(c, &out)
	for _, byMachine := range c.Placements {
		for _, p := range byMachine {
			out.Placements = append(out.Placements, p)
		}
	}
	in.forget(c)
	return out
}

// delta builds the Input of an incremental pass (Delta): whole but for
// Units and Placements, which hold only the named units', and Machines,
// left nil for the State's own.
func (in *inputs) delta(c *registry.Cluster, names map[string]bool) Input {
	out := Input{Unplaced: c.Unplaced, Notes: c.Notes}
	for name := range names {
		if u, ok := c.Units[name]; ok {
			out.Units = append(out.Units, in.unit(u))
		}
		for _, p := range c.Placements[name] {
			out.Placements = append(out.Placements, p)
		}
	}
	in.drainsAndMoves(c, &out)
	return out
}

func (in *inputs) machines(c *registry.Cluster) []Machine {
	out := make([]Machine, 0, len(c.Machines))
	for _, m := range c.Machines {
		out = append(out, Machine{ID: m.ID, Metadata: m.Metadata, Capacity: m.Capacity, Refused: m.Refused})
	}
	return out
}

func (in *inputs) unit(u registry.Unit) Unit {
	su := Unit{Name: u.Name, Hash: u.Hash, Desired: u.Desired, Resources: u.Resources}
	if r := in.requirements(u); r.err != nil {
		su.Invalid = r.err.Error()
	} else {
		su.Req = r.req
	}
	return su
}

func (in *inputs) drainsAndMoves(c *registry.Cluster, out *Input) {
	for id, d := range c.Drains {
		if out.Drains == nil {
			out.Drains = map[string]Drain{}
		}
		out.Drains[id] = Drain{Deadline: d.Deadline, IncludeGlobal: d.IncludeGlobal, MaxParallel: d.MaxParallel}
	}
	if len(c.Moves) > 0 {
		out.Moves = c.Moves
	}
}

func (in *inputs) requirements(u registry.Unit) reqResult {
	key := reqKey{u.Name, u.Hash}
	if r, ok := in.reqs[key]; ok {
		return r
	}
	var r reqResult
	r.req, _, r.err = unit.ParseOptions(u.Name, u.Fleet)
	in.reqs[key] = r
	return r
}

// forget drops memos of units that no longer exist or changed, so a
// long-running Engine does not grow without bound.
func (in *inputs) forget(c *registry.Cluster) {
	if len(in.reqs) <= 2*len(c.Units)+64 {
		return
	}
	for k := range in.reqs {
		if u, ok := c.Units[k.name]; !ok || u.Hash != k.hash {
			delete(in.reqs, k)
		}
	}
}
