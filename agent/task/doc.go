// Package task decides how a machine runs a unit as a container. It is pure:
// no I/O, no clock, no systemd; the same input always gives the same Spec.
//
// A Task is one running container instance of a unit on a machine: the
// unit's placement on this machine, run by the machine's systemd as
// systemd-nspawn on a writable BTRFS snapshot of the unit's image, in the
// unit's own cgroup. A unit becomes a Task when its file has an
// [X-Container] section (see unit.Container); there is at most one Task per
// unit per machine, since a unit is placed at most once on a machine.
//
// The life of a Task, the agent doing each step with the image store,
// volume and resource managers, and systemd:
//
//  1. Image resolved: the image store finds Image= (name:tag) as a chain of
//     read-only subvolumes (base OS, site layer, application layer), each a
//     snapshot of its parent, fetching what it lacks.
//  2. Snapshot: a writable snapshot of the application layer becomes the
//     task's root; the resource manager caps it with DiskQuota= (a BTRFS
//     qgroup); the volume manager finds or creates each Volume= (a
//     subvolume that outlives tasks) and knows its host path.
//  3. Plan: Plan turns the unit, the snapshot and the volumes' host paths
//     into a Spec: the unit options to write for systemd (ExecStart= runs
//     systemd-nspawn), the mounts and the quota, as data.
//  4. Unit written: the agent writes Spec.Options as the unit file and
//     reloads systemd, as for any unit.
//  5. Started: systemd starts the unit; systemd-nspawn runs in the unit's
//     cgroup (Delegate=yes gives the container its own subtree), so the
//     unit's MemoryMax=, CPUQuota=, CPUWeight=, IOWeight= and TasksMax=
//     limit the container. A restart by systemd (Restart=) keeps the same
//     snapshot: it belongs to the Task, not to one run of its process.
//  6. Stopped: systemd sends SIGTERM to systemd-nspawn (KillMode=mixed),
//     which asks the container to stop (SIGTERM to the command, which is
//     the container's PID 1, or SIGRTMIN+3 to a booted init), then SIGKILL
//     to what is left after TimeoutStopSec=. The command's exit status is
//     systemd-nspawn's, so the unit fails when the command does.
//  7. Snapshot removed, or kept on failure: when the unit leaves the
//     machine, the agent deletes the Task's snapshot, unless the unit
//     ended failed: then the snapshot is kept so that what the container
//     left can be inspected, and removed later (by the garbage collector
//     of the image store). Volumes are never removed with a Task.
package task
