package engine

import (
	"bytes"

	sdunit "github.com/coreos/go-systemd/v22/unit"

	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/unit"
)

// inputs builds Schedule's Input from the Engine's cache. Parsing is
// memoized: a file's options by content hash, a unit's requirements by name
// and hash, so a pass over ten thousand unchanged units parses nothing.
type inputs struct {
	opts map[unit.Hash]parsedFile
	reqs map[reqKey]reqResult
}

type parsedFile struct {
	opts []*sdunit.UnitOption
	err  error
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
	return &inputs{opts: map[unit.Hash]parsedFile{}, reqs: map[reqKey]reqResult{}}
}

func (in *inputs) build(c *registry.Cluster) Input {
	out := Input{
		Machines: make([]Machine, 0, len(c.Machines)),
		Units:    make([]Unit, 0, len(c.Units)),
		Unplaced: c.Unplaced,
	}
	for _, m := range c.Machines {
		out.Machines = append(out.Machines, Machine{ID: m.ID, Metadata: m.Metadata})
	}
	for _, u := range c.Units {
		su := Unit{Name: u.Name, Hash: u.Hash, Desired: u.Desired}
		if r := in.requirements(c, u); r.err != nil {
			su.Invalid = r.err.Error()
		} else {
			su.Req = r.req
		}
		out.Units = append(out.Units, su)
	}
	for _, byMachine := range c.Placements {
		for _, p := range byMachine {
			out.Placements = append(out.Placements, p)
		}
	}
	in.forget(c)
	return out
}

func (in *inputs) requirements(c *registry.Cluster, u registry.Unit) reqResult {
	key := reqKey{u.Name, u.Hash}
	if r, ok := in.reqs[key]; ok {
		return r
	}
	pf, ok := in.opts[u.Hash]
	if !ok {
		data, found := c.Files[u.Hash]
		if !found {
			// The file may arrive in a later watch response; do not memoize.
			return reqResult{err: errMissingFile(u.Hash)}
		}
		pf.opts, pf.err = sdunit.Deserialize(bytes.NewReader(data))
		in.opts[u.Hash] = pf
	}
	var r reqResult
	if pf.err != nil {
		r.err = pf.err
	} else {
		r.req, _, r.err = unit.ParseOptions(u.Name, pf.opts)
	}
	in.reqs[key] = r
	return r
}

// forget drops memos of files and units that no longer exist, so a
// long-running Engine does not grow without bound.
func (in *inputs) forget(c *registry.Cluster) {
	if len(in.reqs) > 2*len(c.Units)+64 {
		for k := range in.reqs {
			if u, ok := c.Units[k.name]; !ok || u.Hash != k.hash {
				delete(in.reqs, k)
			}
		}
	}
	if len(in.opts) > 2*len(c.Files)+64 {
		for h := range in.opts {
			if _, ok := c.Files[h]; !ok {
				delete(in.opts, h)
			}
		}
	}
}

type missingFileError struct{ h unit.Hash }

func (e missingFileError) Error() string {
	return "unit file " + e.h.Short() + " is missing from the registry"
}

func errMissingFile(h unit.Hash) error { return missingFileError{h} }
