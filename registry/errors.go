package registry

import "errors"

// Sentinels that classify every error this package returns; callers decide
// with errors.Is, and messages name the unit or machine concerned.
var (
	ErrNotFound    = errors.New("not found")
	ErrExists      = errors.New("already exists")
	ErrInvalid     = errors.New("invalid")
	ErrStale       = errors.New("stale: the record changed since it was read")
	ErrNotLeader   = errors.New("not the engine leader")
	ErrUnavailable = errors.New("etcd unavailable")
	ErrCompacted   = errors.New("watch revision compacted")
	ErrDenied      = errors.New("permission denied")
)
