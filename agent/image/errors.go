package image

import "errors"

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
	ErrNotBtrfs = errors.New("not on btrfs")
	// ErrLocked: another Store has the root open.
	ErrLocked = errors.New("store in use")
)
