// Package daemon is flotad: it wires the registry, the Engine and the Agent
// of one machine from flags, an optional config file and FLOTA_* variables,
// and runs them until its context ends.
//
// With no etcd endpoints flotad runs an embedded etcd in its data directory,
// so one machine needs nothing else; with endpoints it joins that cluster.
package daemon
