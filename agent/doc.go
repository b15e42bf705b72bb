// Package agent is the part of flotad that runs on every Machine.
//
// Lifecycle: the Agent registers its Machine (ID, public IP, metadata)
// under a lease it keeps alive; reads its own Placements and then watches
// only its own prefix for changes; when the lease is lost (etcd expired it
// during a partition longer than the TTL) it registers again and re-reads.
// An unreachable etcd is waited out, never taken to mean that the Machine
// or its Placements are gone.
//
// Driving systemd over D-Bus from the Placements (write, load, start, stop,
// remove units, publish their states) is built on this loop.
package agent
