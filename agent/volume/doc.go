// Package volume is the Agent's volume manager: the named volumes that
// units keep their data in, as BTRFS subvolumes under one root directory.
//
// # Vocabulary
//
// A Volume is data a unit keeps across its tasks on one machine. A unit
// names its volumes (unit.Container's Volume=NAME:/path[:ro]); each task of
// the unit on this machine, whether restarted or rescheduled here again,
// gets the same volume, bound at the same path in the container. A volume
// lives only on the machine it was made on: nothing copies it elsewhere.
//
// A volume's Name follows unit/container.go's rule: [a-z0-9][a-z0-9_-]*,
// at most 128 characters (see ValidateName). The unit package has no
// exported check for volume names, so the same regexp and length are kept
// here, and a test checks both packages accept and refuse the same names.
//
// # Lifecycle
//
//	Ensure(name) → the task runs with the volume bound in → the task ends
//	(the volume stays) → a later task: Ensure(name) again, same path, same data
//	Remove(name) only when asked: a volume is never removed with a task
//
// # Layout
//
// Under the manager's root, a directory on BTRFS:
//
//	<name>    the volume, a writable subvolume
//	.tmp/     work in progress; emptied by Open
//	.lock     held (flock) while a Manager is open
//
// The dot names cannot collide with a volume: a volume name starts with a
// letter or digit.
//
// # Crash safety
//
// Ensure creates the subvolume under .tmp/ and renames it into place, so a
// volume appears whole or not at all. Remove goes the other way: rename
// into .tmp/, then delete, so a volume is gone by name at once, and a crash
// part way leaves only .tmp/ entries, which Open deletes.
//
// Quotas (a volume's size limit) are not this package's business: see
// agent/quota, which limits any subvolume, a volume included.
package volume
