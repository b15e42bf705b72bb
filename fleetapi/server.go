package fleetapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"

	sdunit "github.com/coreos/go-systemd/v22/unit"

	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/unit"
)

// Store is what the API needs of the registry.
type Store interface {
	ReadStatus(ctx context.Context) (*registry.Status, error)
	File(ctx context.Context, h unit.Hash) ([]byte, error)
	Unit(ctx context.Context, name string) (registry.Unit, error)
	CreateUnits(ctx context.Context, files []*unit.File, desired registry.State) error
	SetDesiredState(ctx context.Context, names []string, state registry.State) error
	DestroyUnits(ctx context.Context, names []string) error
	SetLabels(ctx context.Context, machine string, ch registry.LabelChange) (registry.Labels, error)
}

var _ Store = (*registry.Registry)(nil)

// Server answers fleet's API v1 from a Store.
type Server struct{ store Store }

// NewServer returns a Server over store.
func NewServer(store Store) *Server { return &Server{store: store} }

// Handler routes the API under Prefix.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+Prefix+"units", s.listUnits)
	mux.HandleFunc("GET "+Prefix+"units/{name}", s.getUnit)
	mux.HandleFunc("PUT "+Prefix+"units/{name}", s.putUnit)
	mux.HandleFunc("DELETE "+Prefix+"units/{name}", s.deleteUnit)
	mux.HandleFunc("GET "+Prefix+"state", s.listStates)
	mux.HandleFunc("GET "+Prefix+"machines", s.listMachines)
	mux.HandleFunc("PATCH "+Prefix+"machines", s.patchMachines)
	return mux
}

func (s *Server) listUnits(w http.ResponseWriter, r *http.Request) {
	st, ok := s.collection(w, r)
	if !ok {
		return
	}
	page := UnitPage{Units: []*Unit{}}
	files := map[unit.Hash][]*UnitOption{} // templates' instances share files
	where := placedOn(st)
	for _, u := range st.Units {
		e, err := s.entity(r.Context(), where, u, files)
		if err != nil {
			fail(w, err)
			return
		}
		page.Units = append(page.Units, e)
	}
	reply(w, http.StatusOK, page)
}

func (s *Server) getUnit(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	st, err := s.store.ReadStatus(r.Context())
	if err != nil {
		fail(w, err)
		return
	}
	i := slices.IndexFunc(st.Units, func(u registry.Unit) bool { return u.Name == name })
	if i < 0 {
		problem(w, http.StatusNotFound, fmt.Sprintf("unit %s does not exist", name))
		return
	}
	e, err := s.entity(r.Context(), placedOn(st), st.Units[i], map[unit.Hash][]*UnitOption{})
	if err != nil {
		fail(w, err)
		return
	}
	reply(w, http.StatusOK, e)
}

// placement is where a unit is placed (its first machine, for a global
// unit) and the state that machine reports of it ("" when none).
type placement struct {
	machine string
	state   registry.State
}

// placedOn indexes st's placements and states by unit, once a request.
func placedOn(st *registry.Status) map[string]placement {
	out := map[string]placement{}
	for _, p := range st.Placements {
		if _, seen := out[p.Unit]; !seen {
			out[p.Unit] = placement{machine: p.Machine}
		}
	}
	for _, us := range st.States {
		if p, ok := out[us.Unit]; ok && p.machine == us.Machine {
			p.state = us.State
			out[us.Unit] = p
		}
	}
	return out
}

// entity is u as fleet's Unit: its file's options, its desired state, and
// where it is placed and what that machine reports.
func (s *Server) entity(ctx context.Context, where map[string]placement, u registry.Unit, files map[unit.Hash][]*UnitOption) (*Unit, error) {
	opts, ok := files[u.Hash]
	if !ok {
		data, err := s.store.File(ctx, u.Hash)
		if err != nil {
			return nil, err
		}
		parsed, err := sdunit.DeserializeOptions(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("unit %s: stored file: %w", u.Name, err)
		}
		for _, o := range parsed {
			opts = append(opts, &UnitOption{Section: o.Section, Name: o.Name, Value: o.Value})
		}
		files[u.Hash] = opts
	}
	e := &Unit{Name: u.Name, Options: opts, DesiredState: string(u.Desired), CurrentState: string(registry.StateInactive)}
	if p, ok := where[u.Name]; ok {
		e.MachineID = p.machine
		if p.state != "" {
			e.CurrentState = string(p.state)
		}
	}
	return e, nil
}

func (s *Server) putUnit(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := unit.ValidateName(name); err != nil {
		problem(w, http.StatusBadRequest, err.Error())
		return
	}
	var body Unit
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&body); err != nil {
		problem(w, http.StatusBadRequest, "the body is not a Unit entity: "+err.Error())
		return
	}
	if body.Name != "" && body.Name != name {
		problem(w, http.StatusBadRequest, fmt.Sprintf("name %q in the body does not match %q in the path", body.Name, name))
		return
	}
	state, err := registry.ParseState(body.DesiredState)
	if err != nil || body.DesiredState == "" {
		problem(w, http.StatusBadRequest, fmt.Sprintf("desiredState %q: want inactive, loaded or launched", body.DesiredState))
		return
	}
	ctx := r.Context()
	if _, err := s.store.Unit(ctx, name); err == nil {
		// It exists: only its desired state changes, as in fleet.
		if err := s.store.SetDesiredState(ctx, []string{name}, state); err != nil {
			fail(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
		return
	} else if !errors.Is(err, registry.ErrNotFound) {
		fail(w, err)
		return
	}
	if len(body.Options) == 0 {
		problem(w, http.StatusConflict, fmt.Sprintf("unit %s does not exist: creating it needs its options", name))
		return
	}
	opts := make([]*sdunit.UnitOption, 0, len(body.Options))
	for _, o := range body.Options {
		if o == nil {
			continue
		}
		opts = append(opts, &sdunit.UnitOption{Section: o.Section, Name: o.Name, Value: o.Value})
	}
	data, err := io.ReadAll(sdunit.Serialize(opts))
	if err != nil {
		problem(w, http.StatusBadRequest, err.Error())
		return
	}
	f, err := unit.Parse(name, data)
	if err != nil {
		problem(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := s.store.CreateUnits(ctx, []*unit.File{f}, state); err != nil {
		fail(w, err)
		return
	}
	w.WriteHeader(http.StatusCreated)
}

func (s *Server) deleteUnit(w http.ResponseWriter, r *http.Request) {
	if err := s.store.DestroyUnits(r.Context(), []string{r.PathValue("name")}); err != nil {
		fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) listStates(w http.ResponseWriter, r *http.Request) {
	st, ok := s.collection(w, r)
	if !ok {
		return
	}
	machine, name := r.URL.Query().Get("machineID"), r.URL.Query().Get("unitName")
	page := UnitStatePage{States: []*UnitState{}}
	for _, us := range st.States {
		if machine != "" && us.Machine != machine || name != "" && us.Unit != name {
			continue
		}
		e := &UnitState{Name: us.Unit, MachineID: us.Machine, SystemdLoadState: us.Load, SystemdActiveState: us.Active, SystemdSubState: us.Sub}
		if !us.Hash.IsZero() {
			e.Hash = us.Hash.String()
		}
		page.States = append(page.States, e)
	}
	reply(w, http.StatusOK, page)
}

func (s *Server) listMachines(w http.ResponseWriter, r *http.Request) {
	st, ok := s.collection(w, r)
	if !ok {
		return
	}
	page := MachinePage{Machines: []*Machine{}}
	for _, m := range st.Machines {
		page.Machines = append(page.Machines, &Machine{ID: m.ID, PrimaryIP: m.IP, Metadata: m.Metadata})
	}
	reply(w, http.StatusOK, page)
}

// collection reads the cluster for a collection's one page, or answers
// why not.
func (s *Server) collection(w http.ResponseWriter, r *http.Request) (*registry.Status, bool) {
	if !onePage(w, r) {
		return nil, false
	}
	st, err := s.store.ReadStatus(r.Context())
	if err != nil {
		fail(w, err)
		return nil, false
	}
	return st, true
}

// onePage refuses a nextPageToken: every collection is one page, so no
// token was ever handed out.
func onePage(w http.ResponseWriter, r *http.Request) bool {
	if r.URL.Query().Has("nextPageToken") {
		problem(w, http.StatusBadRequest, "invalid value of nextPageToken query parameter")
		return false
	}
	return true
}

// fail answers a Store error with its status: 404 not found, 409 exists,
// 400 invalid, 403 denied, 503 etcd unavailable, 500 otherwise.
func fail(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	switch {
	case errors.Is(err, registry.ErrNotFound):
		code = http.StatusNotFound
	case errors.Is(err, registry.ErrExists):
		code = http.StatusConflict
	case errors.Is(err, registry.ErrInvalid):
		code = http.StatusBadRequest
	case errors.Is(err, registry.ErrDenied):
		code = http.StatusForbidden
	case errors.Is(err, registry.ErrUnavailable):
		code = http.StatusServiceUnavailable
	}
	problem(w, code, err.Error())
}

func problem(w http.ResponseWriter, code int, msg string) {
	var e Error
	e.Error.Code, e.Error.Message = code, msg
	reply(w, code, e)
}

func reply(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
