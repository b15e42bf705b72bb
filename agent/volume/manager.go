package volume

import (
	"github.com/flota-dev/flota/agent/subvol"

	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"
)

const (
	tmpDir   = ".tmp"
	lockFile = ".lock"
)

// Manager keeps the volumes under one root directory on BTRFS. Its methods
// are safe for concurrent use; one Manager per root (Open locks it).
type Manager struct {
	root string
	lock *os.File
	mu   sync.Mutex // serializes Ensure and Remove
}

// Open opens the volume root, creating it if need be (its parent must be
// on BTRFS), and deletes whatever an interrupted Ensure or Remove left in
// .tmp/. The root must be on BTRFS (ErrNotBtrfs) and not open in another
// Manager, in this process or another (ErrLocked).
func Open(ctx context.Context, root string) (*Manager, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	lock, err := subvol.Claim(ctx, root, tmpDir, lockFile)
	if err != nil {
		return nil, fmt.Errorf("volumes %w", err)
	}
	return &Manager{root: root, lock: lock}, nil
}

// Close releases the root's lock. The volumes stay as they are.
func (m *Manager) Close() error { return m.lock.Close() }

// Root is the directory the volumes live in.
func (m *Manager) Root() string { return m.root }

// Path is where the volume name is, or would be once ensured: the host
// path to bind into a container (agent/task's Input.Volumes). It does not
// look whether the volume exists.
func (m *Manager) Path(name string) (string, error) {
	if err := ValidateName(name); err != nil {
		return "", err
	}
	return filepath.Join(m.root, name), nil
}

// Ensure makes the volume name unless it exists, and returns its path;
// created says whether this call made it. A new volume is an empty
// subvolume (mode 0755, owned by root), made under .tmp/ and renamed into
// place, so that a crash leaves either the whole volume or nothing.
func (m *Manager) Ensure(ctx context.Context, name string) (path string, created bool, err error) {
	path, err = m.Path(name)
	if err != nil {
		return "", false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	switch ok, err := m.exists(path); {
	case err != nil:
		return "", false, err
	case ok:
		return path, false, nil
	}
	tmp := filepath.Join(m.root, tmpDir, name)
	if err := subvol.RemoveAll(ctx, tmp); err != nil {
		return "", false, fmt.Errorf("volume %s: %w", name, err)
	}
	if err := subvol.Create(ctx, tmp); err != nil {
		return "", false, fmt.Errorf("volume %s: %w", name, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		// Delete with a context of its own: ctx may be what failed.
		_ = subvol.RemoveAll(context.WithoutCancel(ctx), tmp)
		return "", false, fmt.Errorf("volume %s: %w", name, err)
	}
	if err := subvol.SyncDir(m.root); err != nil {
		return "", false, fmt.Errorf("volume %s: %w", name, err)
	}
	return path, true, nil
}

// exists says whether path is a volume; something else there is
// ErrCorrupt.
func (m *Manager) exists(path string) (bool, error) {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("volumes: %w", err)
	case !subvol.Is(fi):
		return false, fmt.Errorf("volumes: %s: %w", path, ErrCorrupt)
	}
	return true, nil
}

// List returns the names of the volumes, sorted. Entries of the root that
// are not volumes (a plain directory someone made, say) are left out.
func (m *Manager) List(ctx context.Context) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	entries, err := os.ReadDir(m.root)
	if err != nil {
		return nil, fmt.Errorf("volumes: %w", err)
	}
	var names []string
	for _, e := range entries {
		if ValidateName(e.Name()) != nil || !e.IsDir() {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil, fmt.Errorf("volumes: %w", err)
		}
		if subvol.Is(fi) {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names, nil
}

// Remove deletes the volume name and its data: ErrNotFound if there is
// none. Volumes are removed only when someone asks, never with a task, and
// the caller must make sure no task uses it. The volume is renamed into
// .tmp/ first, so it is gone by name at once; if the delete then fails, the
// error is returned and the next Open finishes it.
func (m *Manager) Remove(ctx context.Context, name string) error {
	path, err := m.Path(name)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	switch ok, err := m.exists(path); {
	case err != nil:
		return err
	case !ok:
		return fmt.Errorf("volume %s: %w", name, ErrNotFound)
	}
	trash := filepath.Join(m.root, tmpDir, name+".removed."+strconv.FormatInt(time.Now().UnixNano(), 10))
	if err := os.Rename(path, trash); err != nil {
		return fmt.Errorf("volume %s: %w", name, err)
	}
	if err := subvol.SyncDir(m.root); err != nil {
		return fmt.Errorf("volume %s: %w", name, err)
	}
	if err := subvol.RemoveAll(ctx, trash); err != nil {
		return fmt.Errorf("volume %s: removed, but deleting its data failed (Open will retry): %w", name, err)
	}
	return nil
}
