package image

import (
	"errors"

	"github.com/flota-dev/flota/agent/subvol"
)

// Errors are wrapped with %w; test them with errors.Is.
var (
	// ErrNotFound: no such layer, tag or task snapshot.
	ErrNotFound = errors.New("not found")
	// ErrExists: a task snapshot with that key exists already.
	ErrExists = errors.New("already exists")
	// ErrInvalid: a malformed name, key or ID, or a stream that is not
	// the layer it claims to be.
	ErrInvalid = errors.New("invalid")
	// ErrNotBtrfs: the store's root is not on a BTRFS filesystem.
	ErrNotBtrfs = subvol.ErrNotBtrfs
	// ErrLocked: another Store has the root open.
	ErrLocked = subvol.ErrLocked
)
