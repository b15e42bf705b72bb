// Package metrics is flotad's Prometheus series (prometheus/client_golang).
//
// Metrics holds them on a registry of its own, so that nothing of flota's
// is package-level state; Handler serves them together with the default
// registry's, where the embedded etcd member and the Go runtime register
// theirs. It implements the small observer ports the Engine
// (engine.Observer) and the Agent (agent.Observer) own, so neither imports
// Prometheus; the HTTP middleware counts the flotad API's requests.
//
// Every series is named flota_<part>_<what>, with units in the name
// (seconds, bytes) as Prometheus' conventions ask.
package metrics
