package e2e

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// hostAPI is the host flotad's --api socket (flotad's default: flota.sock
// in its --data-dir, which harness/cluster sets).
func hostAPI() string {
	dir := os.Getenv("FLOTA_HARNESS_ETCD_DATA")
	if dir == "" {
		dir = "/dev/shm/flota-harness-etcd"
	}
	return filepath.Join(dir, "flota.sock")
}

// TestAPIDrivers: on the harness cluster, flotactl --driver=API runs a
// unit through the host flotad's API socket (start blocking on its event
// stream, list-units, status through the machine's agent, destroy), and a
// fleet-shaped client reads it from fleet's API v1 on that socket.
func TestAPIDrivers(t *testing.T) {
	c := up(t)
	sock := hostAPI()
	api := func(args ...string) []string {
		return append([]string{"--driver=API", "--endpoint=unix://" + sock}, args...)
	}
	c.destroyAtEnd(t, "api-driver.service")
	r := c.must(t, api("start", unitFile(t, "api-driver.service", sleeper))...)
	if !strings.Contains(r.out, "Unit api-driver.service launched on ") {
		t.Fatalf("start through the API: %q", r.out)
	}
	at := c.activeOn(t, "api-driver.service", 30*time.Second)
	if r := c.must(t, api("list-units", "--no-legend", "--full", "--fields=unit,machine,active")...); !strings.Contains(r.out, "api-driver.service\t"+at.machine+"/"+at.ip+"\tactive") {
		t.Errorf("list-units through the API:\n%s", r.out)
	}
	if r := c.must(t, api("status", "api-driver.service")...); !strings.Contains(r.out, "Active: active (running)") {
		t.Errorf("status through the API:\n%s", r.out)
	}

	// fleet's API v1, as a fleet client reads it.
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	resp, err := client.Get("http://flotad/fleet/v1/units/api-driver.service")
	if err != nil {
		t.Fatal(err)
	}
	var u struct {
		Name, DesiredState, CurrentState, MachineID string
		Options                                     []struct{ Section, Name, Value string }
	}
	err = json.NewDecoder(resp.Body).Decode(&u)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || u.DesiredState != "launched" || u.CurrentState != "launched" || u.MachineID != at.machine || len(u.Options) == 0 {
		t.Errorf("GET /fleet/v1/units/api-driver.service: %d %+v (%v)", resp.StatusCode, u, err)
	}

	c.must(t, api("destroy", "api-driver.service")...)
	eventually(t, 30*time.Second, "api-driver.service gone", func() (bool, string) {
		rows := c.where(t, "api-driver.service")
		return len(rows) == 0, ""
	})
}
