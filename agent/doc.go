// Package agent is the part of flotad that runs on every Machine.
//
// Lifecycle: the Agent registers its Machine (ID, public IP, metadata)
// under a lease it keeps alive; reads its own Placements and then watches
// only its own prefix for changes; when the lease is lost (etcd expired it
// during a partition longer than the TTL) it registers again and re-reads.
// An unreachable etcd is waited out, never taken to mean that the Machine
// or its Placements are gone. But the Agent cannot tell a partition from an
// etcd outage, so a fuse (fuse.go), counted from etcd's last keep-alive
// answer, raises a fence (fence.go) a second before the lease can end: the
// units that stop on disconnect (OnDisconnect=) are stopped, so that their
// replacements elsewhere never meet them, and start again once etcd
// answers or a new registration has read its Placements.
//
// With a Systemd (Config.Systemd), it also runs its Placements. Deciding is
// pure: Reconcile turns the Placements, the Agent's unit directory and
// systemd's view into a Plan (stop, remove, write, enable, load or one
// reload, start), which the Agent carries out. A new unit costs no
// daemon-reload (systemd reads it at its first reference); a changed file
// of a unit systemd holds, or an [Install] section, costs one per batch.
// It acts when its Placements change or systemd signals a change to one of
// its units, gathering changes for a few milliseconds so that N Placements
// cost one pass, and never on a timer: idle units cost nothing. It publishes each unit's
// LOAD/ACTIVE/SUB and the state it reached when they change, and all of
// them again under each new registration.
//
// What fleet got wrong and the Agent must not: restarting or stopping the
// Agent restarts or stops no unit; a unit that fails is started again only
// for a new Placement or file (its Restart= policy is systemd's business),
// while a unit systemd lost (reboot, file removed by hand) is written and
// started again; "launched" means that systemd runs the unit; a template is
// never written, started or asked about; a unit that leaves deletes only
// this Machine's state row.
package agent
