// Package engine decides where Units run and writes those decisions while,
// and only while, it leads.
//
// It is two parts kept apart on purpose:
//
//   - Schedule, a pure function from an Input (Machines, Units, current
//     Placements) to a Plan (Placements to write and remove, and why a Unit
//     could not be placed). It does no I/O and reads no clock (the time is
//     in its Input), so every placement rule is a table test and its
//     invariants are property tests.
//   - Engine, the thin loop around it: campaign for leadership, keep a
//     registry.Cluster current from one watch, run Schedule when something
//     changed, Apply the Plan in fenced transactions, repeat. A slow periodic
//     reload is a safety net, never the way work gets done.
//
// Placement follows fleet: a Unit goes to the least-loaded feasible Machine
// (load counts every Unit placed there, Global ones included), ties to the
// lower Machine ID. Feasibility is a pipeline of checkers, one rule a file,
// each saying why it rejects a Machine; when none is left the reasons are
// counted ("Conflicts "nginx@*" filtered 3 machines") and stored for
// flotactl to show. One checker keeps reservations within capacity: a unit
// reserves what its MemoryMax=, CPUQuota= and DiskQuota= allow it
// (unit.Resources, copied into its record at submit), and a machine takes
// it only while what it published covers the reservations of its units;
// the choice among the machines left is fleet's, unchanged, for a unit
// without soft rules; a unit with some (SoftConflicts=, SpreadBy=,
// PreferMachineMetadata=) is given the machine its scorers rank best
// (rank.go), ties again fleet's. Group rules (DistinctBy=, SpreadBy=) count
// a unit's group per metadata value as the run adds and removes units
// (check_distinct.go), so they cost lookups, not scans.
//
// Where fleet moved a dead Machine's Units at once, the Engine moves them
// only when the loss is certain enough and a Machine takes them
// (absent.go): a new leader, or one that sees most Machines go together,
// waits one Machine TTL first; a Unit that stops on disconnect
// (OnDisconnect=) waits a margin after the lease, by which time its Agent
// stopped it; a Unit with nowhere to go stays placed, so that a Machine
// that comes back restarts nothing.
package engine
