package volume

import (
	"errors"

	"github.com/flota-dev/flota/agent/subvol"
)

// Errors are wrapped with %w; test them with errors.Is.
var (
	// ErrNotFound: no volume of that name.
	ErrNotFound = errors.New("no such volume")
	// ErrInvalid: a malformed volume name.
	ErrInvalid = errors.New("invalid volume name")
	// ErrNotBtrfs: the manager's root is not on a BTRFS filesystem.
	ErrNotBtrfs = subvol.ErrNotBtrfs
	// ErrLocked: another Manager has the root open.
	ErrLocked = subvol.ErrLocked
	// ErrCorrupt: something under the root that should be a volume is not
	// a subvolume (someone made a plain directory or file there).
	ErrCorrupt = errors.New("not a subvolume")
)
