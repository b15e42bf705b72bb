package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestMetricsAndHealth: every machine's flotad answers /metrics with
// flota's own series beside etcd's client's and the process's, and
// /health with its agent registered; exactly one machine's engine leads,
// and the machine that ran a unit counted its agent's passes.
func TestMetricsAndHealth(t *testing.T) {
	c := up(t)
	c.destroyAtEnd(t, "metrics.service")
	c.must(t, "start", unitFile(t, "metrics.service", sleeper))
	at := c.activeOn(t, "metrics.service", 30*time.Second)
	leaders := 0
	for i := 1; i <= machines; i++ {
		ip := fmt.Sprintf("10.77.0.%d", 10+i)
		text := get("http://" + ip + ":4920/metrics")
		for _, want := range []string{"flota_build_info{version=", "flota_agent_reconcile_seconds_count ", `flota_agent_systemd_calls_total{call="UnitFiles",result="ok"}`, "go_goroutines "} {
			if !strings.Contains(text, want) {
				t.Errorf("flota-m%d's /metrics has no %q", i, want)
			}
		}
		if line := sample(text, "flota_engine_leader"); line == "1" {
			leaders++
		}
		if ip == at.ip {
			if n, _ := strconv.ParseFloat(sample(text, "flota_agent_reconcile_seconds_count"), 64); n < 1 {
				t.Errorf("flota-m%d ran metrics.service in %v agent passes", i, n)
			}
		}
		if h := get("http://" + ip + ":4920/health"); !strings.Contains(h, `"status":"ok"`) || !strings.Contains(h, `"agent":"registered"`) {
			t.Errorf("flota-m%d's /health: %q", i, h)
		}
	}
	if leaders != 1 {
		t.Errorf("%d machines say their engine leads, want 1", leaders)
	}
}

// sample is the value of name's unlabelled sample in a Prometheus text
// exposition, "" if none.
func sample(text, name string) string {
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	return ""
}
