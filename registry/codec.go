package registry

import (
	"encoding/json"
	"fmt"

	sdunit "github.com/coreos/go-systemd/v22/unit"

	"github.com/flota-dev/flota/reason"
	"github.com/flota-dev/flota/unit"
)

// The stored JSON shapes. They are the on-disk format of the cluster: add
// fields, never rename them.
type unitValue struct {
	Hash    string `json:"hash"`
	Desired State  `json:"desired"`
	// Global is copied from the file's [X-Fleet] at submit, so listings need
	// not fetch and parse every file to tell global units apart.
	Global bool `json:"global,omitempty"`
	// Fleet holds the file's [X-Fleet] options as name/value pairs, copied
	// at submit so the Engine places units without reading their files.
	Fleet [][2]string `json:"fleet,omitempty"`
	// Resources is what the unit reserves, read from the file at submit
	// (MemoryMax=, CPUQuota=, DiskQuota=); absent when nothing.
	Resources *resourcesValue `json:"resources,omitempty"`
}

type resourcesValue struct {
	MemoryBytes uint64 `json:"memory,omitempty"`
	MilliCPUs   uint64 `json:"millicpus,omitempty"`
	DiskBytes   uint64 `json:"disk,omitempty"`
}

func newResourcesValue(r unit.Resources) *resourcesValue {
	if r.IsZero() {
		return nil
	}
	return &resourcesValue{MemoryBytes: r.MemoryBytes, MilliCPUs: r.MilliCPUs, DiskBytes: r.DiskBytes}
}

func fleetOptions(f *unit.File) [][2]string {
	var out [][2]string
	for _, o := range f.Options {
		if o.Section == "X-Fleet" {
			out = append(out, [2]string{o.Name, o.Value})
		}
	}
	return out
}

// withDesired re-encodes a record read back, with another desired state.
func withDesired(u Unit, desired State) unitValue {
	v := unitValue{Hash: u.Hash.String(), Desired: desired, Global: u.Global, Resources: newResourcesValue(u.Resources)}
	for _, o := range u.Fleet {
		v.Fleet = append(v.Fleet, [2]string{o.Name, o.Value})
	}
	return v
}

func newUnitValue(f *unit.File, desired State) unitValue {
	return unitValue{Hash: f.Hash.String(), Desired: desired, Global: f.Fleet.Global, Fleet: fleetOptions(f),
		Resources: newResourcesValue(f.Resources)}
}

type machineValue struct {
	IP       string            `json:"ip,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"`
	API      string            `json:"api,omitempty"`
	Capacity *Capacity         `json:"capacity,omitempty"`
	Refused  map[string]string `json:"refused,omitempty"`
	Version  string            `json:"version,omitempty"`
}

type placementValue struct {
	Hash    string `json:"hash"`
	Desired State  `json:"desired"`
}

type stateValue struct {
	Hash   string `json:"hash,omitempty"`
	Load   string `json:"load,omitempty"`
	Active string `json:"active,omitempty"`
	Sub    string `json:"sub,omitempty"`
	State  State  `json:"state,omitempty"`
	// Condition and Detail: UnitState's.
	Condition reason.Condition `json:"condition,omitempty"`
	Detail    string           `json:"detail,omitempty"`
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		// Only plain structs of strings and maps are marshalled here.
		panic(fmt.Sprintf("registry: marshal %T: %v", v, err))
	}
	return string(b)
}

func decodeUnit(name string, data []byte, rev int64) (Unit, error) {
	var v unitValue
	if err := json.Unmarshal(data, &v); err != nil {
		return Unit{}, fmt.Errorf("unit %s: corrupt record: %w", name, err)
	}
	h, err := unit.ParseHash(v.Hash)
	if err != nil {
		return Unit{}, fmt.Errorf("unit %s: corrupt record: %w", name, err)
	}
	u := Unit{Name: name, Hash: h, Desired: v.Desired, Global: v.Global, Revision: rev}
	for _, o := range v.Fleet {
		u.Fleet = append(u.Fleet, sdunit.NewUnitOption("X-Fleet", o[0], o[1]))
	}
	if r := v.Resources; r != nil {
		u.Resources = unit.Resources{MemoryBytes: r.MemoryBytes, MilliCPUs: r.MilliCPUs, DiskBytes: r.DiskBytes}
	}
	return u, nil
}

func decodeMachine(id string, data []byte, rev int64) (Machine, error) {
	var v machineValue
	if err := json.Unmarshal(data, &v); err != nil {
		return Machine{}, fmt.Errorf("machine %s: corrupt record: %w", id, err)
	}
	m := Machine{ID: id, IP: v.IP, Metadata: v.Metadata, Registered: v.Metadata, API: v.API, Refused: v.Refused, Version: v.Version, Revision: rev}
	if v.Capacity != nil {
		m.Capacity = *v.Capacity
	}
	return m, nil
}

func decodePlacement(machine, name string, data []byte) (Placement, error) {
	var v placementValue
	if err := json.Unmarshal(data, &v); err != nil {
		return Placement{}, fmt.Errorf("placement of %s on %s: corrupt record: %w", name, machine, err)
	}
	h, err := unit.ParseHash(v.Hash)
	if err != nil {
		return Placement{}, fmt.Errorf("placement of %s on %s: corrupt record: %w", name, machine, err)
	}
	return Placement{Unit: name, Machine: machine, Hash: h, Desired: v.Desired}, nil
}

func decodeState(machine, name string, data []byte) (UnitState, error) {
	var v stateValue
	if err := json.Unmarshal(data, &v); err != nil {
		return UnitState{}, fmt.Errorf("state of %s on %s: corrupt record: %w", name, machine, err)
	}
	s := UnitState{Unit: name, Machine: machine, Load: v.Load, Active: v.Active, Sub: v.Sub, State: v.State, Condition: v.Condition, Detail: v.Detail}
	if v.Hash != "" {
		h, err := unit.ParseHash(v.Hash)
		if err != nil {
			return UnitState{}, fmt.Errorf("state of %s on %s: corrupt record: %w", name, machine, err)
		}
		s.Hash = h
	}
	return s, nil
}
