// Package quota is the Agent's disk quota (resource) manager: BTRFS qgroup
// limits on the subvolumes tasks write to, and the machine's capacity,
// which the Agent publishes with its presence.
//
// # Vocabulary
//
// A Quota is a cap, in bytes, on what one subvolume may hold: a task's
// snapshot (unit.Container's DiskQuota) or a volume. BTRFS keeps one
// qgroup per subvolume (0/<subvolume id>) and counts, for each, the bytes
// it Referenced (all the data reachable from it, shared or not) and the
// bytes that are Exclusive to it (reachable from no other subvolume). A
// limit can be put on either; a write that would go over fails with
// EDQUOT ("Disk quota exceeded").
//
// Limit caps referenced bytes, the plain meaning of "this volume holds at
// most N bytes", right for volumes. A task snapshot shares its image's
// layer, so its referenced bytes include the whole image; LimitExclusive
// caps what the task itself wrote and is the cap for DiskQuota= on a
// snapshot (the agent's choice; this package offers both).
//
// Capacity is what a machine has to offer: CPUs, memory, and the disk
// under the Agent's data directory, total and free.
//
// # Accounting
//
// Quotas are off on a fresh filesystem: Enable turns them on, once per
// filesystem (it is idempotent), before any limit. Turning them on starts
// a rescan of existing data; Enable waits for it. BTRFS accounts at
// transaction commit, so Usage can lag writes by up to the commit interval
// (30 s by default); limits are enforced on reservations at write time and
// do not lag. Usage syncs the filesystem first (qgroup show --sync) so
// that what it reports includes what was written before it was called.
//
// A deleted subvolume's qgroup stays behind (btrfs qgroup clear-stale
// removes such; this package does not yet).
//
// # Effects
//
// Every btrfs(8) command is built by a pure function (enableArgs,
// limitArgs, showArgs) and its output read by another (parseQgroupShow),
// table-tested without a filesystem; likewise Capacity's readers
// (ParseMemTotal, diskFromStatfs). The functions that run them are thin.
package quota
