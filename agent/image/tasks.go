package image

import (
	"github.com/flota-dev/flota/agent/subvol"

	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Snapshot makes a writable snapshot of layer for the task key and
// returns its tree, for systemd-nspawn -D. With layer "" it makes an empty
// subvolume: where a base layer is built.
func (s *Store) Snapshot(ctx context.Context, layer LayerID, key string) (string, error) {
	if err := checkName("task", key); err != nil {
		return "", err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	src, err := s.parentPath(ctx, layer)
	if err != nil {
		return "", fmt.Errorf("task %s: %w", key, err)
	}
	dst := s.path("tasks", key)
	if _, err := os.Lstat(dst); err == nil {
		return "", fmt.Errorf("task %s: %w", key, ErrExists)
	}
	// Snapshot and record side by side in tmp/, then one rename: a task
	// directory always says which layer it came from.
	tmp, err := s.work("task")
	if err != nil {
		return "", fmt.Errorf("task %s: %w", key, err)
	}
	rootfs := filepath.Join(tmp, "rootfs")
	if src == "" {
		err = createSubvolume(ctx, rootfs)
	} else {
		err = snapshot(ctx, src, rootfs, false)
	}
	if err == nil {
		err = writeJSON(filepath.Join(tmp, "task.json"), Task{Key: key, Layer: layer, Created: time.Now().UTC()})
	}
	if err == nil {
		err = publish(tmp, dst)
	}
	if err != nil {
		subvol.RemoveAll(context.WithoutCancel(ctx), tmp)
		return "", fmt.Errorf("task %s: %w", key, err)
	}
	return filepath.Join(dst, "rootfs"), nil
}

// SnapshotPath is the tree of task key's snapshot.
func (s *Store) SnapshotPath(key string) string { return s.path("tasks", key, "rootfs") }

// Task reads task key's record: which layer its snapshot was made from.
func (s *Store) Task(ctx context.Context, key string) (Task, error) {
	if err := checkName("task", key); err != nil {
		return Task{}, err
	}
	var t Task
	err := readJSON(s.path("tasks", key, "task.json"), &t)
	if errors.Is(err, fs.ErrNotExist) {
		return Task{}, fmt.Errorf("task %s: %w", key, ErrNotFound)
	}
	return t, err
}

// Tasks lists the task snapshots.
func (s *Store) Tasks(ctx context.Context) ([]Task, error) {
	entries, err := os.ReadDir(s.path("tasks"))
	if err != nil {
		return nil, err
	}
	var out []Task
	for _, e := range entries {
		var t Task
		if err := readJSON(s.path("tasks", e.Name(), "task.json"), &t); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// RemoveSnapshot deletes task key's snapshot. With keep it moves it to
// failed/ instead, for someone to look at what the task left, and returns
// its tree there.
func (s *Store) RemoveSnapshot(ctx context.Context, key string, keep bool) (string, error) {
	if err := checkName("task", key); err != nil {
		return "", err
	}
	src := s.path("tasks", key)
	if !keep {
		err := s.unpublish(ctx, src, "rm")
		if errors.Is(err, ErrNotFound) {
			return "", fmt.Errorf("task %s: %w", key, ErrNotFound)
		}
		if err != nil {
			return "", fmt.Errorf("task %s: %w", key, err)
		}
		return "", nil
	}
	dst := s.path("failed", key+"-"+time.Now().UTC().Format(failedTime))
	if err := os.Rename(src, dst); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("task %s: %w", key, ErrNotFound)
		}
		return "", fmt.Errorf("task %s: %w", key, err)
	}
	return filepath.Join(dst, "rootfs"), subvol.SyncDir(s.path("failed"))
}
