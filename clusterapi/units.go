package clusterapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/unit"
)

// Writer is what the API's writes need of the registry: each call is one
// etcd transaction (or, past etcd's limit, batches each all-or-nothing),
// as flotactl's own.
type Writer interface {
	CreateUnits(ctx context.Context, files []*unit.File, desired registry.State) error
	SetDesiredState(ctx context.Context, names []string, state registry.State) error
	DestroyUnits(ctx context.Context, names []string) error
}

var _ Writer = (*registry.Registry)(nil)

// maxBody bounds a write's body: a batch of unit files.
const maxBody = 32 << 20

// NewUnits is the body of POST /v1/units: units to create, in one
// desired state.
type NewUnits struct {
	DesiredState registry.State `json:"desiredState"`
	Units        []NewUnit      `json:"units"`
}

// NewUnit is a unit's name and its file's text.
type NewUnit struct {
	Name string `json:"name"`
	File string `json:"file"`
}

// UnitNames is the body of POST /v1/units/desired-state (with a
// DesiredState) and POST /v1/units/destroy.
type UnitNames struct {
	DesiredState registry.State `json:"desiredState,omitempty"`
	Units        []string       `json:"units"`
}

// EnableWrites serves the API's writes through w and returns s. They are
// for whoever may change the cluster: flotad serves them on --api only
// (a root-only socket, or TLS for operators).
func (s *Server) EnableWrites(w Writer) *Server {
	s.writer = w
	return s
}

// createUnits parses every file first: one bad file writes nothing, and
// the answer names it and its line.
func (s *Server) createUnits(w http.ResponseWriter, r *http.Request) {
	var body NewUnits
	if !s.decode(w, r, &body) {
		return
	}
	if _, err := registry.ParseState(string(body.DesiredState)); err != nil || len(body.Units) == 0 {
		http.Error(w, fmt.Sprintf("want a desiredState (inactive, loaded or launched) and units, not %q and %d units", body.DesiredState, len(body.Units)), http.StatusBadRequest)
		return
	}
	files := make([]*unit.File, 0, len(body.Units))
	for _, u := range body.Units {
		f, err := unit.Parse(u.Name, []byte(u.File))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		files = append(files, f)
	}
	s.answer(w, s.writer.CreateUnits(r.Context(), files, body.DesiredState), http.StatusCreated)
}

func (s *Server) setDesiredState(w http.ResponseWriter, r *http.Request) {
	var body UnitNames
	if !s.decode(w, r, &body) {
		return
	}
	if _, err := registry.ParseState(string(body.DesiredState)); err != nil || len(body.Units) == 0 {
		http.Error(w, fmt.Sprintf("want a desiredState (inactive, loaded or launched) and units, not %q and %d units", body.DesiredState, len(body.Units)), http.StatusBadRequest)
		return
	}
	if !validNames(w, body.Units) {
		return
	}
	s.answer(w, s.writer.SetDesiredState(r.Context(), body.Units, body.DesiredState), http.StatusNoContent)
}

func (s *Server) destroyUnits(w http.ResponseWriter, r *http.Request) {
	var body UnitNames
	if !s.decode(w, r, &body) {
		return
	}
	if len(body.Units) == 0 || !validNames(w, body.Units) {
		if len(body.Units) == 0 {
			http.Error(w, "want units", http.StatusBadRequest)
		}
		return
	}
	s.answer(w, s.writer.DestroyUnits(r.Context(), body.Units), http.StatusNoContent)
}

func validNames(w http.ResponseWriter, names []string) bool {
	for _, n := range names {
		if err := unit.ValidateName(n); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return false
		}
	}
	return true
}

func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if s.writer == nil {
		http.Error(w, "this API serves reads only here", http.StatusForbidden)
		return false
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		http.Error(w, "the body is not the document this route takes: "+err.Error(), http.StatusBadRequest)
		return false
	}
	return true
}

// answer is code on success; otherwise the registry's error, classified:
// 404 for units not there, 409 for units there already, 503 when etcd is
// unavailable.
func (s *Server) answer(w http.ResponseWriter, err error, code int) {
	switch {
	case err == nil:
		w.WriteHeader(code)
	case errors.Is(err, registry.ErrNotFound):
		http.Error(w, err.Error(), http.StatusNotFound)
	case errors.Is(err, registry.ErrExists):
		http.Error(w, err.Error(), http.StatusConflict)
	case errors.Is(err, registry.ErrInvalid):
		http.Error(w, err.Error(), http.StatusBadRequest)
	default:
		fail(w, err)
	}
}
