// Package registry is flota's only door to etcd: every key, lease, transaction
// and watch lives here, behind a typed API, so no other package knows the key
// schema (documented in keys.go).
//
// Vocabulary (the project glossary):
//   - Unit: a systemd unit file submitted to the cluster under a name such as
//     web@3.service, with a desired state (inactive, loaded, launched).
//   - Machine: a host running an Agent; it exists while its lease lives.
//   - Placement: the Engine's decision that a Unit runs on a Machine, with the
//     desired state the Agent must reach there.
//   - Agent: the part of flotad on every Machine that registers presence,
//     watches its own Placements and publishes the state systemd reports.
//   - Engine: the leader-elected part of flotad that turns Units and Machines
//     into Placements.
//
// Lifecycle of a Unit: flotactl creates it (CreateUnits) and sets its desired
// state (SetDesiredState); the Engine, reading the cluster through a Cluster
// cache kept by WatchCluster, writes Placements with Apply under a Fence that
// only holds while it leads; the Agent of the chosen Machine watches its
// Placements (WatchPlacements) and publishes UnitStates under its lease;
// DestroyUnits removes the Unit, and the Engine then removes its Placements.
//
// Every multi-key change is one etcd transaction guarded by a Compare, so no
// reader ever sees half a submit, half a move or half a destroy.
package registry
