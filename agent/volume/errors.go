package volume

import "errors"

// Errors are wrapped with %w; test them with errors.Is.
var (
	// ErrNotFound: no volume of that name.
	ErrNotFound = errors.New("no such volume")
	// ErrInvalid: a malformed volume name.
	ErrInvalid = errors.New("invalid volume name")
	// ErrNotBtrfs: the manager's root is not on a BTRFS filesystem.
	ErrNotBtrfs = errors.New("not on btrfs")
	// ErrLocked: another Manager has the root open.
	ErrLocked = errors.New("volume root in use")
	// ErrCorrupt: something under the root that should be a volume is not
	// a subvolume (someone made a plain directory or file there).
	ErrCorrupt = errors.New("not a subvolume")
)
