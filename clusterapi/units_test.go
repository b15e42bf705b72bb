package clusterapi_test

import (
	"context"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/flota-dev/flota/clusterapi"
	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/registry/registrytest"
)

// TestAPIWrites drives the writes over a real etcd: each batch is all or
// nothing, and what is wrong is refused naming it, with the status a
// client can act on.
func TestAPIWrites(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	reg := registrytest.Registry(t, registrytest.Etcd(t))
	srv := httptest.NewServer(clusterapi.NewServer(reg, nil, slog.New(slog.DiscardHandler)).EnableWrites(reg).Handler())
	defer srv.Close()
	readOnly := httptest.NewServer(clusterapi.NewServer(reg, nil, slog.New(slog.DiscardHandler)).Handler())
	defer readOnly.Close()
	post := func(base, path, body string) (int, string) {
		t.Helper()
		resp, err := http.Post(base+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	units := func() map[string]registry.State {
		t.Helper()
		st, err := reg.ReadStatus(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]registry.State{}
		for _, u := range st.Units {
			out[u.Name] = u.Desired
		}
		return out
	}
	file := `[Service]\nExecStart=/bin/sleep 1000\n`
	for _, tt := range []struct {
		name, base, path, body string
		code                   int
		says                   string
		after                  map[string]registry.State
	}{
		{"a batch with a bad file writes nothing", srv.URL, "/v1/units",
			`{"desiredState":"launched","units":[{"name":"a.service","file":"` + file + `"},{"name":"b.service","file":"[Service]\nExecStart=/bin/true\n[X-Fleet]\nMachineMetadata=cpus>>2\n"}]}`,
			http.StatusBadRequest, "unit b.service, line 4", map[string]registry.State{}},
		{"a batch created together", srv.URL, "/v1/units",
			`{"desiredState":"loaded","units":[{"name":"a.service","file":"` + file + `"},{"name":"b.service","file":"` + file + `"}]}`,
			http.StatusCreated, "", map[string]registry.State{"a.service": "loaded", "b.service": "loaded"}},
		{"a unit there already: nothing of its batch", srv.URL, "/v1/units",
			`{"desiredState":"launched","units":[{"name":"c.service","file":"` + file + `"},{"name":"a.service","file":"` + file + `"}]}`,
			http.StatusConflict, "a.service", map[string]registry.State{"a.service": "loaded", "b.service": "loaded"}},
		{"desired states together", srv.URL, "/v1/units/desired-state", `{"desiredState":"launched","units":["a.service","b.service"]}`,
			http.StatusNoContent, "", map[string]registry.State{"a.service": "launched", "b.service": "launched"}},
		{"one missing: none change", srv.URL, "/v1/units/desired-state", `{"desiredState":"inactive","units":["a.service","nope.service"]}`,
			http.StatusNotFound, "nope.service", map[string]registry.State{"a.service": "launched", "b.service": "launched"}},
		{"a bad state", srv.URL, "/v1/units/desired-state", `{"desiredState":"running","units":["a.service"]}`,
			http.StatusBadRequest, "want a desiredState", map[string]registry.State{"a.service": "launched", "b.service": "launched"}},
		{"a bad name", srv.URL, "/v1/units/destroy", `{"units":["../x.service"]}`,
			http.StatusBadRequest, "x.service", map[string]registry.State{"a.service": "launched", "b.service": "launched"}},
		{"a field it does not take", srv.URL, "/v1/units/destroy", `{"units":["a.service"],"force":true}`,
			http.StatusBadRequest, `unknown field "force"`, map[string]registry.State{"a.service": "launched", "b.service": "launched"}},
		{"a reads-only server", readOnly.URL, "/v1/units/destroy", `{"units":["a.service"]}`,
			http.StatusForbidden, "reads only", map[string]registry.State{"a.service": "launched", "b.service": "launched"}},
		{"destroyed together", srv.URL, "/v1/units/destroy", `{"units":["a.service","b.service"]}`,
			http.StatusNoContent, "", map[string]registry.State{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, body := post(tt.base, tt.path, tt.body)
			if code != tt.code || !strings.Contains(body, tt.says) {
				t.Errorf("POST %s: %d %q, want %d and %q", tt.path, code, body, tt.code, tt.says)
			}
			if got := units(); !maps.Equal(got, tt.after) {
				t.Errorf("units after: %v, want %v", got, tt.after)
			}
		})
	}
}
