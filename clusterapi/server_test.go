package clusterapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/flota-dev/flota/clusterapi"
	"github.com/flota-dev/flota/engine"
	"github.com/flota-dev/flota/reason"
	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/registry/registrytest"
	"github.com/flota-dev/flota/unit"
)

// TestAPI reads the cluster through flota's API over a real etcd and
// Engine: the status document with placements, states and reasons as
// codes; a plan with scores; endpoints; the event stream's revisions.
func TestAPI(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	reg := registrytest.Registry(t, registrytest.Etcd(t))
	p, err := reg.Register(ctx, registry.Machine{ID: "m1aaaaaaaa", IP: "10.0.0.1", Metadata: map[string]string{"disk": "ssd"}}, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	eng := engine.New(reg, engine.Config{ID: "e1", LeaderTTL: 2 * time.Second}, slog.New(slog.DiscardHandler))
	done := make(chan struct{})
	go func() { defer close(done); _ = eng.Run(ctx) }()
	defer func() { cancel(); <-done }()
	srv := httptest.NewServer(clusterapi.NewServer(reg, nil, slog.New(slog.DiscardHandler)).Handler())
	defer srv.Close()

	get := func(path string, v any) int {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode == http.StatusOK && v != nil {
			if err := json.Unmarshal(b, v); err != nil {
				t.Fatalf("GET %s: %v\n%s", path, err, b)
			}
		}
		return resp.StatusCode
	}

	// The event stream, from now: its first line is the revision it starts at.
	evctx, stopEvents := context.WithCancel(ctx)
	defer stopEvents()
	req, _ := http.NewRequestWithContext(evctx, "GET", srv.URL+"/v1/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	lines := bufio.NewScanner(resp.Body)
	next := func() map[string]any {
		t.Helper()
		if !lines.Scan() {
			t.Fatalf("the event stream ended: %v", lines.Err())
		}
		var v map[string]any
		if err := json.Unmarshal(lines.Bytes(), &v); err != nil {
			t.Fatalf("event %q: %v", lines.Text(), err)
		}
		return v
	}
	start := next()["revision"].(float64)

	var files []*unit.File
	for name, text := range map[string]string{
		"web.service": "[Service]\nExecStart=/bin/sleep 1000\n[X-Fleet]\nPorts=http=8080 53/udp\n",
		"gpu.service": "[Service]\nExecStart=/bin/sleep 1000\n[X-Fleet]\nMachineMetadata=gpu=yes\n",
	} {
		f, err := unit.Parse(name, []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	if err := reg.CreateUnits(ctx, files, registry.StateLaunched); err != nil {
		t.Fatal(err)
	}
	if rev := next()["revision"].(float64); rev <= start {
		t.Errorf("an event at revision %v after a submit, want after %v", rev, start)
	}

	// Read again after each change the stream announces, until the
	// engine's pass shows.
	var st clusterapi.Status
	for get("/v1/status", &st); len(st.Units) != 2 || len(st.Units[1].Placements) != 1 || st.Units[0].Reason == nil; get("/v1/status", &st) {
		next()
	}
	gpu, web := st.Units[0], st.Units[1]
	if gpu.Reason.Code != reason.NoEligible || !gpu.Reason.Filtered(reason.MachineMetadata) || gpu.ReasonText == "" {
		t.Errorf("gpu.service's reason %+v %q, want no-eligible by machine-metadata", gpu.Reason, gpu.ReasonText)
	}
	if web.Placements[0].Machine != "m1aaaaaaaa" || web.Desired != registry.StateLaunched || len(st.Machines) != 1 || st.Machines[0].Metadata["disk"] != "ssd" {
		t.Errorf("status %+v", st)
	}

	if err := p.PublishState(ctx, registry.UnitState{Unit: "web.service", Machine: "m1aaaaaaaa", Hash: files[0].Hash, Load: "loaded", Active: "active", Sub: "running", State: registry.StateLaunched}); err != nil {
		t.Fatal(err)
	}
	var eps struct {
		Endpoints []clusterapi.Endpoint `json:"endpoints"`
	}
	for get("/v1/endpoints?glob=web*", &eps); len(eps.Endpoints) == 0; get("/v1/endpoints?glob=web*", &eps) {
		next()
	}
	if len(eps.Endpoints) != 2 || eps.Endpoints[0].Address != "10.0.0.1:53" || eps.Endpoints[0].Proto != "udp" || eps.Endpoints[1].Name != "http" {
		t.Errorf("endpoints %+v", eps.Endpoints)
	}

	var plan clusterapi.Plan
	if code := get("/v1/plan?unit=gpu.service&unit=web.service", &plan); code != http.StatusOK {
		t.Fatalf("plan: %d", code)
	}
	if len(plan.Units) != 2 || len(plan.Units[0].Machines) != 0 || plan.Units[0].Reason == nil || !plan.Units[1].Stays {
		t.Errorf("plan %+v", plan)
	}
	if rj := plan.Units[0].Scores[0].Rejected; rj == nil || rj.Code != reason.MachineMetadata {
		t.Errorf("gpu.service's score %+v, want its machine rejected by machine-metadata", plan.Units[0].Scores)
	}
	for _, tt := range []struct {
		name, path string
		code       int
	}{
		{"plan of a unit not in the cluster", "/v1/plan?unit=nope.service", http.StatusNotFound},
		{"plan of nothing", "/v1/plan", http.StatusBadRequest},
		{"a bad glob", "/v1/endpoints?glob=[", http.StatusBadRequest},
		{"a bad revision", "/v1/events?after=x", http.StatusBadRequest},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if code := get(tt.path, nil); code != tt.code {
				t.Errorf("GET %s: %d, want %d", tt.path, code, tt.code)
			}
		})
	}
}
