package fleetapi

// Prefix is where the API is served.
const Prefix = "/fleet/v1/"

// Unit is fleet's Unit entity.
type Unit struct {
	Name         string        `json:"name,omitempty"`
	Options      []*UnitOption `json:"options,omitempty"`
	DesiredState string        `json:"desiredState,omitempty"`
	CurrentState string        `json:"currentState,omitempty"`
	MachineID    string        `json:"machineID,omitempty"`
}

// UnitOption is one option of a unit file.
type UnitOption struct {
	Section string `json:"section"`
	Name    string `json:"name"`
	Value   string `json:"value"`
}

// UnitState is fleet's UnitState entity: what a machine reports.
type UnitState struct {
	Name               string `json:"name"`
	Hash               string `json:"hash,omitempty"`
	MachineID          string `json:"machineID"`
	SystemdLoadState   string `json:"systemdLoadState,omitempty"`
	SystemdActiveState string `json:"systemdActiveState,omitempty"`
	SystemdSubState    string `json:"systemdSubState,omitempty"`
}

// Machine is fleet's Machine entity.
type Machine struct {
	ID        string            `json:"id"`
	PrimaryIP string            `json:"primaryIP"`
	Metadata  map[string]string `json:"metadata,omitempty"`
}

// UnitPage, UnitStatePage and MachinePage are the collections.
type UnitPage struct {
	Units         []*Unit `json:"units"`
	NextPageToken string  `json:"nextPageToken,omitempty"`
}

type UnitStatePage struct {
	States        []*UnitState `json:"states"`
	NextPageToken string       `json:"nextPageToken,omitempty"`
}

type MachinePage struct {
	Machines      []*Machine `json:"machines"`
	NextPageToken string     `json:"nextPageToken,omitempty"`
}

// Error is the body of a 4xx or 5xx answer.
type Error struct {
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}
