package daemon

import (
	"encoding/json"
	"net/http"
)

// health is what /health reports: this flotad's version and, for each
// part it runs, how it is.
type health struct {
	Status  string `json:"status"`           // ok, or unavailable while the agent is not registered
	Version string `json:"version"`          // flotad's
	Agent   string `json:"agent,omitempty"`  // registered or registering; absent without an agent
	Engine  string `json:"engine,omitempty"` // leading or standby; absent without an engine
}

// healthHandler answers /health: 200 and "ok" while every part this
// flotad runs is as it should be (the agent registered), 503 otherwise,
// with the parts' states as JSON either way. agent and engine are nil for
// the parts it does not run.
func healthHandler(agent func() bool, engine func() bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		h := health{Status: "ok", Version: Version}
		if agent != nil {
			h.Agent = "registered"
			if !agent() {
				h.Agent, h.Status = "registering", "unavailable"
			}
		}
		if engine != nil {
			h.Engine = "standby"
			if engine() {
				h.Engine = "leading"
			}
		}
		w.Header().Set("Content-Type", "application/json")
		if h.Status != "ok" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(h)
	})
}
