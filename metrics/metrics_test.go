package metrics_test

import (
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/flota-dev/flota/agent/systemd/systemdtest"
	"github.com/flota-dev/flota/metrics"
	"github.com/flota-dev/flota/reason"
)

// TestSeries: what the Engine and the Agent report shows in the scrape,
// with the default registry's series beside flota's.
func TestSeries(t *testing.T) {
	m := metrics.New("1.2.3")
	m.Leading(true)
	m.Pass(true, 20*time.Millisecond, 3, 2, 1, nil)
	m.Pass(false, time.Millisecond, 1, 1, 0, nil)
	m.Pass(false, time.Millisecond, 1, 1, 0, errors.New("stale"))
	m.Unplaced(maps.Values(map[string]reason.Unplaced{
		"a.service": {Code: reason.NoEligible, Filters: []reason.Filter{{Code: reason.MachineMetadata}}},
		"b.service": {Code: reason.NoEligible, Filters: []reason.Filter{{Code: reason.MachineMetadata}}},
		"c.service": {Code: reason.NoMachines},
	}))
	m.Reconciled(5*time.Millisecond, nil)
	m.Reconciled(5*time.Millisecond, errors.New("systemd"))
	m.Pulled(time.Second, 3<<20, nil)
	m.Pulled(time.Second, 1<<20, errors.New("404"))
	sd := m.Systemd(systemdtest.NewFake())
	if _, err := sd.Units(t.Context(), []string{"a.service"}); err != nil {
		t.Fatal(err)
	}
	_ = sd.Start(t.Context(), "missing.service") // no such unit: an error
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/units/{unit}/status", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNotFound) })
	srv := httptest.NewServer(m.Requests(mux))
	defer srv.Close()
	for range 2 {
		resp, err := http.Get(srv.URL + "/v1/units/x.service/status")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	text := string(body)
	for _, tc := range []struct{ name, line string }{
		{"version", `flota_build_info{version="1.2.3"} 1`},
		{"leader", "flota_engine_leader 1"},
		{"whole passes", `flota_engine_pass_seconds_count{kind="whole"} 1`},
		{"incremental passes, failed ones too", `flota_engine_pass_seconds_count{kind="incremental"} 2`},
		{"placements of the passes that applied", "flota_engine_placements_total 3"},
		{"removals", "flota_engine_removals_total 1"},
		{"units changed", "flota_engine_changes_total 4"},
		{"failed passes", "flota_engine_pass_errors_total 1"},
		{"unplaced by code and rule", `flota_engine_unplaced_units{code="no-eligible",rule="machine-metadata"} 2`},
		{"unplaced with no rule", `flota_engine_unplaced_units{code="no-machines",rule=""} 1`},
		{"agent passes", "flota_agent_reconcile_seconds_count 2"},
		{"agent errors", "flota_agent_reconcile_errors_total 1"},
		{"pulls ok", `flota_agent_image_pulls_total{result="ok"} 1`},
		{"pulls failed", `flota_agent_image_pulls_total{result="failed"} 1`},
		{"bytes pulled", `flota_agent_image_pull_bytes_total 4.194304e+06`},
		{"API requests by route and code", `flota_api_requests_total{code="404",route="GET /v1/units/{unit}/status"} 2`},
		{"systemd calls", `flota_agent_systemd_calls_total{call="Units",result="ok"} 1`},
		{"systemd calls that failed", `flota_agent_systemd_calls_total{call="Start",result="error"} 1`},
		{"systemd call times", `flota_agent_systemd_call_seconds_count{call="Units"} 1`},
		{"the default registry's", "go_goroutines "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(text, tc.line) {
				t.Errorf("no %q in the scrape", tc.line)
			}
		})
	}
	m.Leading(false)
	rec = httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if text := rec.Body.String(); !strings.Contains(text, "flota_engine_leader 0") || strings.Contains(text, "flota_engine_unplaced_units{") {
		t.Errorf("a standby still reports leading or unplaced units")
	}
}
