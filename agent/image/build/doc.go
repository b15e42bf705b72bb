// Package build builds images, chains of read-only layers in an
// agent/image Store, from small declarative spec files: one step, one
// layer, each reused while nothing it depends on changes.
//
// # Spec files
//
// A spec (by convention NAME.flota, in images/) is one directive a line.
// Blank lines are ignored; a # at the start of a line or after a space or
// tab starts a comment (so `run echo a#b` keeps its #, and a shell comment
// cannot be passed to run). Words are separated by spaces.
//
//	image NAME:TAG        first, once: the tag the result gets
//	from NAME:TAG         second, once: the parent image, or
//	from scratch          an empty tree
//	debootstrap SUITE VARIANT [PKG,PKG...]
//	                      only right after `from scratch`: debootstrap
//	                      --variant=VARIANT (minbase, buildd, fakechroot,
//	                      or - for debootstrap's default) --include=PKGS
//	packages PKG...       apt-get install inside the tree (needs the
//	                      network to the mirror at build time)
//	copy SRC DEST         SRC (file or directory, relative to the spec's
//	                      directory) to DEST (absolute in the tree; ending
//	                      in / means into that directory)
//	run CMD...            the rest of the line, as
//	                      systemd-nspawn --quiet --register=no --keep-unit
//	                      --pipe -D TREE /bin/sh -c CMD
//	env K=V               for the run and packages steps after it (not
//	                      stored in the image; the last K=V for a K wins)
//
// For example images/site.flota:
//
//	image site:1
//	from base:1
//	copy files/motd /etc/motd
//	run echo site > /etc/flota-site
//
// Parse errors name the file and line: "images/site.flota:3: copy takes
// SRC DEST". Build errors do too, with the tail of the failed command's
// output.
//
// # Building
//
// Every directive after from but env is a step, and each step makes one
// layer: Store.Snapshot of the parent layer (or an empty subvolume for
// the first step of `from scratch`), the step applied to that tree,
// Store.Commit against the parent, the snapshot removed. If the step
// fails the snapshot is removed (or, with KeepFailed, moved to failed/)
// and no layer is made. The top layer is tagged NAME:TAG.
//
// A step's cache key is the SHA-256 of the parent layer's ID, the env in
// effect, the directive, and what else it reads: a copy's content hash
// (paths, types, permission bits, bytes and link targets of the source)
// and the epoch; debootstrap's and packages' mirror. The store root's
// build-cache/<key> file holds the layer the key was built as; a step
// whose key is there, and whose layer is still in the store (GC may have
// taken an untagged one), is not run again: "cached". A changed step so
// rebuilds itself and every step after it, nothing before it.
//
// Specs built together are built in dependency order: `from NAME:TAG` is
// the spec of that image in the same set when there is one, else the
// store's tag of that name. Two specs of one image or a from cycle are
// errors.
//
// # Reproducibility
//
// What is normalised: copied files, directories and links are owned by
// root:root, keep their permission bits and get the epoch
// (SOURCE_DATE_EPOCH, 0 unless set) as mtime, and so does the directory
// they are copied into; SOURCE_DATE_EPOCH and DEBIAN_FRONTEND are set for
// debootstrap, run and packages; debootstrap's downloaded packages are
// kept in <store>/debootstrap-cache and reused; after debootstrap the
// tree's .debs, bootstrap.log and machine ID are removed (every container
// gets its own machine ID).
//
// What is not: debootstrap and packages install whatever the mirror
// serves that day, and dpkg, maintainer scripts and run commands write
// real timestamps (logs, /var/lib/dpkg, ...), so their layers differ from
// build to build in content. Copy layers are identical in content for the
// same inputs. No layer is reproducible as an ID: a LayerID hashes the
// btrfs send stream, which carries the subvolume's UUIDs and times (see
// package image), so the same content committed twice is two IDs. The
// cache is what keeps IDs stable: an unchanged spec gives the layers it
// gave before. Ship layers as Export writes them; do not rebuild them
// elsewhere and expect the same IDs.
//
// # Exporting
//
// Export writes an image's chain to a directory, the source machines pull
// from: <hex>.btrfs per layer, its send stream against its parent (the
// base full), checked against its ID as it is written, and chain.json
// (ChainFile: the image, its top layer, and its layers base first with
// parent, file and size). A machine imports them in order with
// Store.ImportVerified(stream, parent, id).
//
// The command is cmd/flota-image: build [--store DIR] [--dry-run] SPEC...,
// export --store DIR NAME:TAG OUTDIR, list --store DIR.
package build
