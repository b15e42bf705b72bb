// Package runtime runs container units on a machine: it is the glue
// between a unit's [X-Container] section (unit.Container) and the agent's
// image store (agent/image), volume manager (agent/volume), disk quotas
// (agent/quota) and the pure planner (agent/task).
//
// Prepare makes a Task ready to run and returns the unit options to write
// for systemd; Cleanup removes the Task's snapshot when the unit leaves the
// machine (or is replaced), keeping it under the store's failed/ area when
// the unit ended failed. The agent owns the order: Prepare before the unit
// file is written, Cleanup after the unit is stopped and its file removed.
//
// # Images
//
// Prepare resolves Image= in the store. A missing image is fetched from the
// Source, layer by layer, base first, each imported with
// image.Store.ImportVerified against its parent (so a stream that is not
// the layer it claims to be is refused), and the top layer is tagged with
// the image's name. DirSource reads what agent/image/build.Export (or
// flota-image export) writes, one directory per image:
//
//	<dir>/<name>_<tag>/chain.json    {"image":"web:1","layers":[...]}, base first
//	<dir>/<name>_<tag>/<hex>.btrfs   each layer's send stream against the previous one
//
// where a layer is either its ID ("sha256:<hex>") or an object
// {"id":..., "file":...} as build.ChainFile writes it.
//
// HTTPSource fetches the same layout over HTTP, <base>/<name>_<tag>/chain.json
// and <base>/<name>_<tag>/<file>, and parses chain.json with DirSource's
// code. SourceHandler serves a DirSource directory that way, read-only: GET and
// HEAD of those two kinds of path only (flotad --serve-images mounts it
// at /images/ on the agent API). A 404 is image.ErrNotFound. chain.json
// must arrive within 30 s; a layer stream takes as long as ctx allows.
// Nothing fetched is trusted, as ImportVerified checks every layer.
//
// # Tasks
//
// A unit's Task snapshot is kept under a key derived from the unit's name
// (Key): one Task per unit per machine. Prepare for a unit whose snapshot
// exists already reuses it when it was made from the same layer (the
// agent wrote the unit again after a reboot, or crashed between Prepare
// and writing the file), and replaces it otherwise.
//
// # Crash safety
//
// What one Prepare call made (the snapshot) it removes again when a later
// step fails; images fetched and volumes made stay, as they are wanted on
// the next try. What a crash leaves is a snapshot no unit file uses: the
// agent's next Prepare for the unit reuses or replaces it, and a Cleanup
// for a unit that left removes it.
package runtime
