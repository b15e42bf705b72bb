package clusterapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flota-dev/flota/clock"
	"github.com/flota-dev/flota/engine"
	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/unit"
)

// Store is what the API reads of the cluster.
type Store interface {
	ReadStatus(ctx context.Context) (*registry.Status, error)
	WatchStatus(ctx context.Context, after int64) <-chan registry.StatusChange
	LoadCluster(ctx context.Context, log *slog.Logger) (*registry.Cluster, error)
	File(ctx context.Context, h unit.Hash) ([]byte, error)
}

var _ Store = (*registry.Registry)(nil)

// heartbeat is how often an idle event stream says it is alive.
const heartbeat = 25 * time.Second

// Server answers flota's API from a Store.
type Server struct {
	store  Store
	writer Writer // nil: reads only
	clock  clock.Clock
	log    *slog.Logger
}

// NewServer returns a Server over store; a nil clock is the system's.
func NewServer(store Store, c clock.Clock, log *slog.Logger) *Server {
	if c == nil {
		c = clock.System{}
	}
	return &Server{store: store, clock: c, log: log}
}

// Handler routes the API under /v1/.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", s.status)
	mux.HandleFunc("GET /v1/files/{hash}", s.file)
	mux.HandleFunc("GET /v1/plan", s.plan)
	mux.HandleFunc("GET /v1/endpoints", s.endpoints)
	mux.HandleFunc("GET /v1/events", s.events)
	mux.HandleFunc("POST /v1/units", s.createUnits)
	mux.HandleFunc("POST /v1/units/desired-state", s.setDesiredState)
	mux.HandleFunc("POST /v1/units/destroy", s.destroyUnits)
	return mux
}

// status answers the API's document, or with ?form=registry the
// registry's Status itself as Go encodes it: what flotactl --driver=API
// reads, all it would have read from etcd (its shape is flota's inner
// one, and changes with flotactl).
func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	st, err := s.store.ReadStatus(r.Context())
	if err != nil {
		fail(w, err)
		return
	}
	switch form := r.URL.Query().Get("form"); form {
	case "":
		reply(w, StatusOf(st))
	case "registry":
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(st)
	default:
		http.Error(w, fmt.Sprintf("form %q: want registry, or none", form), http.StatusBadRequest)
	}
}

// file answers a unit file's text by its hash, as stored.
func (s *Server) file(w http.ResponseWriter, r *http.Request) {
	h, err := unit.ParseHash(r.PathValue("hash"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	data, err := s.store.File(r.Context(), h)
	if errors.Is(err, registry.ErrNotFound) {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	if err != nil {
		fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write(data)
}

func (s *Server) endpoints(w http.ResponseWriter, r *http.Request) {
	globs := r.URL.Query()["glob"]
	for _, g := range globs {
		if _, err := path.Match(g, ""); err != nil {
			http.Error(w, fmt.Sprintf("glob %q: %v", g, err), http.StatusBadRequest)
			return
		}
	}
	st, err := s.store.ReadStatus(r.Context())
	if err != nil {
		fail(w, err)
		return
	}
	reply(w, struct {
		Revision  int64      `json:"revision"`
		Endpoints []Endpoint `json:"endpoints"`
	}{st.Revision, Endpoints(st, globs)})
}

func (s *Server) plan(w http.ResponseWriter, r *http.Request) {
	names := r.URL.Query()["unit"]
	if len(names) == 0 {
		http.Error(w, "plan: want ?unit=NAME (one or more)", http.StatusBadRequest)
		return
	}
	c, err := s.store.LoadCluster(r.Context(), s.log)
	if err != nil {
		fail(w, err)
		return
	}
	in := engine.PreviewInput(c, s.clock.Now())
	var missing []string
	for _, n := range names {
		i := slices.IndexFunc(in.Units, func(u engine.Unit) bool { return u.Name == n })
		if i < 0 {
			missing = append(missing, n)
			continue
		}
		in.Units[i].Desired = registry.StateLaunched
	}
	if len(missing) > 0 {
		http.Error(w, "plan: not in the cluster: "+strings.Join(missing, ", "), http.StatusNotFound)
		return
	}
	doc, _ := PlanOf(c, engine.SchedulePreview(in, names), names)
	reply(w, doc)
}

// events streams a line {"revision":N} after each change to the cluster
// after revision ?after= (default: now), and {} as a heartbeat; a client
// reads what changed (GET /v1/status) at or after N. The stream ends,
// with a last {"error":"..."} line, when the watch breaks.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	after := int64(0)
	if a := r.URL.Query().Get("after"); a != "" {
		var err error
		if after, err = strconv.ParseInt(a, 10, 64); err != nil || after < 0 {
			http.Error(w, fmt.Sprintf("after %q: want a revision", a), http.StatusBadRequest)
			return
		}
	}
	if after == 0 {
		st, err := s.store.ReadStatus(r.Context())
		if err != nil {
			fail(w, err)
			return
		}
		after = st.Revision
	}
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	send := func(v any) bool { return enc.Encode(v) == nil && rc.Flush() == nil }
	if !send(struct {
		Revision int64 `json:"revision"`
	}{after}) {
		return
	}
	changes := s.store.WatchStatus(r.Context(), after)
	for {
		select {
		case <-r.Context().Done():
			return
		case ch, ok := <-changes:
			if !ok {
				return
			}
			if ch.Err != nil {
				send(struct {
					Error string `json:"error"`
				}{ch.Err.Error()})
				return
			}
			if !send(struct {
				Revision int64 `json:"revision"`
			}{ch.Revision}) {
				return
			}
		case <-s.clock.After(heartbeat):
			if !send(struct{}{}) {
				return
			}
		}
	}
}

func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// fail answers 503 when etcd is unavailable, 500 otherwise, naming why.
func fail(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	if errors.Is(err, registry.ErrUnavailable) {
		code = http.StatusServiceUnavailable
	}
	http.Error(w, err.Error(), code)
}
