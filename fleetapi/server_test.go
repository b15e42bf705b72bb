package fleetapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/flota-dev/flota/fleetapi"
	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/registry/registrytest"
)

// TestFleetAPI drives fleet's API v1 as a fleet client does, over a real
// etcd: create, read, list, change the desired state, states, machines,
// destroy, and fleet's status codes for what is wrong.
func TestFleetAPI(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	reg := registrytest.Registry(t, registrytest.Etcd(t))
	p, err := reg.Register(ctx, registry.Machine{ID: "m1", IP: "10.0.0.1", Metadata: map[string]string{"zone": "a"}}, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(fleetapi.NewServer(reg).Handler())
	defer srv.Close()
	do := func(method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, method, srv.URL+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	create := `{"desiredState":"launched","options":[{"section":"Service","name":"ExecStart","value":"/usr/bin/sleep 3000"}]}`
	for _, tt := range []struct {
		name, method, path, body string
		code                     int
		has                      string
	}{
		{"create", "PUT", "/fleet/v1/units/foo.service", create, http.StatusCreated, ""},
		{"get", "GET", "/fleet/v1/units/foo.service", "", http.StatusOK,
			`{"name":"foo.service","options":[{"section":"Service","name":"ExecStart","value":"/usr/bin/sleep 3000"}],"desiredState":"launched","currentState":"inactive"}`},
		{"list", "GET", "/fleet/v1/units", "", http.StatusOK, `{"units":[{"name":"foo.service",`},
		{"change the desired state", "PUT", "/fleet/v1/units/foo.service", `{"desiredState":"loaded"}`, http.StatusNoContent, ""},
		{"the change", "GET", "/fleet/v1/units/foo.service", "", http.StatusOK, `"desiredState":"loaded"`},
		{"create without options", "PUT", "/fleet/v1/units/bar.service", `{"desiredState":"launched"}`, http.StatusConflict, "creating it needs its options"},
		{"a bad name", "PUT", "/fleet/v1/units/x%2F..%2Fy.service", create, http.StatusBadRequest, `"code":400`},
		{"names that differ", "PUT", "/fleet/v1/units/foo.service", `{"name":"baz.service","desiredState":"loaded"}`, http.StatusBadRequest, "does not match"},
		{"a bad state", "PUT", "/fleet/v1/units/foo.service", `{"desiredState":"running"}`, http.StatusBadRequest, "want inactive, loaded or launched"},
		{"a bad file", "PUT", "/fleet/v1/units/bad.service", `{"desiredState":"launched","options":[{"section":"X-Fleet","name":"MachineMetadata","value":"cpus>>2"}]}`, http.StatusBadRequest, "MachineMetadata"},
		{"a missing unit", "GET", "/fleet/v1/units/nope.service", "", http.StatusNotFound, `{"error":{"code":404,`},
		{"machines", "GET", "/fleet/v1/machines", "", http.StatusOK, `{"machines":[{"id":"m1","primaryIP":"10.0.0.1","metadata":{"zone":"a"}}]}`},
		{"a page token", "GET", "/fleet/v1/machines?nextPageToken=x", "", http.StatusBadRequest, "nextPageToken"},
		{"metadata patched", "PATCH", "/fleet/v1/machines", `[{"op":"add","path":"/m1/metadata/rack","value":"r1"},{"op":"remove","path":"/m1/metadata/zone"}]`, http.StatusNoContent, ""},
		{"the patch, as labels", "GET", "/fleet/v1/machines", "", http.StatusOK, `"metadata":{"rack":"r1"}}]}`},
		{"a patch of two machines", "PATCH", "/fleet/v1/machines", `[{"op":"add","path":"/m1/metadata/a","value":"1"},{"op":"add","path":"/m2/metadata/a","value":"1"}]`, http.StatusBadRequest, "a patch changes one machine"},
		{"a patch of a machine not there", "PATCH", "/fleet/v1/machines", `[{"op":"add","path":"/m9/metadata/a","value":"1"}]`, http.StatusNotFound, "machine m9 does not exist"},
		{"a bad path", "PATCH", "/fleet/v1/machines", `[{"op":"add","path":"/m1/ip","value":"1"}]`, http.StatusBadRequest, "/m1/ip"},
		{"a bad op", "PATCH", "/fleet/v1/machines", `[{"op":"move","path":"/m1/metadata/a"}]`, http.StatusBadRequest, "want add, replace or remove"},
		{"nothing half applied", "GET", "/fleet/v1/machines", "", http.StatusOK, `"metadata":{"rack":"r1"}}]}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, body := do(tt.method, tt.path, tt.body)
			if code != tt.code || !strings.Contains(body, tt.has) {
				t.Errorf("%s %s: %d %q, want %d with %q", tt.method, tt.path, code, body, tt.code, tt.has)
			}
		})
	}
	t.Run("states, filtered", func(t *testing.T) {
		if err := p.PublishState(ctx, registry.UnitState{Unit: "foo.service", Machine: "m1", Load: "loaded", Active: "active", Sub: "running", State: registry.StateLaunched}); err != nil {
			t.Fatal(err)
		}
		for path, n := range map[string]int{"/fleet/v1/state": 1, "/fleet/v1/state?machineID=m1": 1, "/fleet/v1/state?unitName=foo.service": 1, "/fleet/v1/state?machineID=m2": 0} {
			code, body := do("GET", path, "")
			var page fleetapi.UnitStatePage
			if err := json.NewDecoder(bytes.NewReader([]byte(body))).Decode(&page); err != nil || code != http.StatusOK || len(page.States) != n {
				t.Errorf("%s: %d %q, want %d states", path, code, body, n)
			} else if n == 1 && (page.States[0].SystemdActiveState != "active" || page.States[0].SystemdSubState != "running") {
				t.Errorf("%s: %+v", path, page.States[0])
			}
		}
	})
	t.Run("destroy", func(t *testing.T) {
		if code, body := do("DELETE", "/fleet/v1/units/foo.service", ""); code != http.StatusNoContent {
			t.Errorf("DELETE: %d %q", code, body)
		}
		if code, _ := do("DELETE", "/fleet/v1/units/foo.service", ""); code != http.StatusNotFound {
			t.Errorf("DELETE again: %d, want 404", code)
		}
		if code, body := do("GET", "/fleet/v1/units", ""); code != http.StatusOK || body != "{\"units\":[]}\n" {
			t.Errorf("list after: %d %q", code, body)
		}
	})
}
