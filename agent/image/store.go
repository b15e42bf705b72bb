package image

import (
	"github.com/flota-dev/flota/agent/subvol"

	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
)

// Store is an image store rooted at a directory on BTRFS. Its methods are
// safe for concurrent use; one Store per root (Open locks it).
type Store struct {
	root string
	lock *os.File
	// mu orders GC against what creates references: GC holds it to read
	// the references and delete, everything else holds it shared, so a
	// task is never snapshotted from a layer GC is deleting.
	mu sync.RWMutex
}

var dirs = []string{"layers", "tags", "tasks", "failed", "tmp"}

// Open opens the store at root, creating its directories, and deletes
// whatever an interrupted operation left in tmp/.
func Open(ctx context.Context, root string) (*Store, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	lock, err := subvol.Claim(ctx, root, "tmp", "lock")
	if err != nil {
		return nil, fmt.Errorf("image store %w", err)
	}
	for _, d := range dirs {
		if err := os.MkdirAll(filepath.Join(root, d), 0o700); err != nil {
			lock.Close()
			return nil, fmt.Errorf("image store: %w", err)
		}
	}
	return &Store{root: root, lock: lock}, nil
}

// Close releases the store's lock. Layers and tasks stay as they are.
func (s *Store) Close() error { return s.lock.Close() }

// Root is the directory the store lives in.
func (s *Store) Root() string { return s.root }

func (s *Store) path(elem ...string) string {
	return filepath.Join(append([]string{s.root}, elem...)...)
}

func (s *Store) layerDir(id LayerID) string { return s.path("layers", id.hex()) }

// LayerPath is the read-only tree of a layer.
func (s *Store) LayerPath(id LayerID) string { return filepath.Join(s.layerDir(id), "rootfs") }

// work makes a directory under tmp/ for an operation to build in.
func (s *Store) work(op string) (string, error) {
	return os.MkdirTemp(s.path("tmp"), op+"-")
}

// publish renames a finished directory from tmp/ to its place: the one
// step that makes a layer or task exist. The target is never empty when it
// exists (it holds rootfs), so rename fails rather than replace it.
func publish(from, to string) error {
	if err := os.Rename(from, to); err != nil {
		if errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.EEXIST) {
			return fmt.Errorf("%s: %w", filepath.Base(to), ErrExists)
		}
		return err
	}
	return subvol.SyncDir(filepath.Dir(to))
}

// unpublish is publish backwards: the entry leaves its place in one step,
// then is deleted at leisure (by Open, if not now).
func (s *Store) unpublish(ctx context.Context, path, op string) error {
	tmp, err := s.work(op)
	if err != nil {
		return err
	}
	dst := filepath.Join(tmp, filepath.Base(path))
	if err := os.Rename(path, dst); err != nil {
		os.Remove(tmp)
		if errors.Is(err, fs.ErrNotExist) {
			return ErrNotFound
		}
		return err
	}
	if err := subvol.RemoveAll(ctx, tmp); err != nil {
		// Still in use (a task's tree mounted by its container, say):
		// put it back, so it is not lost from view until the next Open.
		if os.Rename(dst, path) == nil {
			os.Remove(tmp)
		}
		return err
	}
	return subvol.SyncDir(filepath.Dir(path))
}

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(append(data, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w: %v", path, ErrInvalid, err)
	}
	return nil
}
