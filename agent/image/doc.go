// Package image is the Agent's image store: the read-only BTRFS layers that
// containers are made of, the names images go by, and the writable
// snapshots that tasks run in.
//
// # Vocabulary
//
// A Layer is a read-only BTRFS subvolume that is a snapshot of its parent
// layer plus its own changes (the base OS layer has no parent). Layers form
// chains, base OS → site → application, and a layer is stored once however
// many images and tasks use it.
//
// A LayerID names a layer by content: "sha256:" and the SHA-256 of the
// layer's send stream, the bytes `btrfs send -p PARENT LAYER` (or
// `btrfs send LAYER` for a base) wrote when the layer was committed. A send
// stream names the subvolumes it comes from by UUID, so the same tree
// committed twice is two layers, and a stream sent again from a store that
// received it is other bytes: a layer is shipped from the store that
// committed it (or as the blob that store produced), and an ID vouches for
// exactly those bytes. Sending from that store again gives the same bytes,
// so Export reproduces the ID. A layer's Manifest, kept next to it, records
// its ID, its parent and its stream's size; the parents give its Chain.
//
// An Image is a name (a tag, such as "app-web:3") that resolves to its top
// layer; the image is that layer's chain.
//
// A task Snapshot is a writable snapshot of a layer, made for one running
// task under a key of the caller's choosing. Writes to it never reach the
// layer. When the task ends it is removed, or kept in the failed area for
// someone to look at.
//
// # Lifecycle
//
//	build:  Snapshot(parent, key) → write files → Commit(path, parent) → RemoveSnapshot
//	ship:   Export(layer, parent) on the builder → ImportVerified(stream, parent, layer) elsewhere
//	name:   Tag(name, layer) → Resolve(name) → Chain(layer)
//	run:    Snapshot(layer, key) → the task runs in it → RemoveSnapshot(key, keep)
//	reclaim: GC(inUse) deletes layers that no tag, child layer, task or caller uses
//
// # Layout
//
// Under the store's root, a directory on BTRFS:
//
//	layers/<hex>/rootfs         the layer, a read-only subvolume
//	layers/<hex>/manifest.json  its Manifest
//	tags/<name>                 the LayerID the name resolves to
//	tasks/<key>/rootfs          a task's writable snapshot
//	tasks/<key>/task.json       which layer it was made from
//	failed/<key>-<time>/        task snapshots kept by RemoveSnapshot(key, true)
//	tmp/                        work in progress; emptied by Open
//	lock                        held (flock) while a Store is open
//
// # Crash safety
//
// Every change that takes more than one step is built under tmp/ and made
// visible by one rename(2): a layer appears with its manifest or not at all,
// a task with its record or not at all. Removal goes the other way: rename
// into tmp/, then delete. So whatever a crash leaves behind is in tmp/, and
// Open deletes it. The subvolume inside a layer or task is always named
// "rootfs", because a send stream carries that name and the ID must not
// depend on where the layer was built.
//
// All btrfs(8) commands are in btrfs.go.
package image
