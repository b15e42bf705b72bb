package image

import (
	"github.com/flota-dev/flota/agent/subvol"

	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Tag points name at layer, replacing what it pointed at.
func (s *Store) Tag(ctx context.Context, name string, layer LayerID) error {
	if err := checkName("tag", name); err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if _, err := s.Layer(ctx, layer); err != nil {
		return fmt.Errorf("tag %s: %w", name, err)
	}
	// Written aside and renamed over the old tag: a reader sees the old
	// layer or the new one, never half a line.
	tmp, err := s.work("tag")
	if err != nil {
		return fmt.Errorf("tag %s: %w", name, err)
	}
	defer os.RemoveAll(tmp)
	f := filepath.Join(tmp, "tag")
	if err := os.WriteFile(f, []byte(string(layer)+"\n"), 0o600); err != nil {
		return fmt.Errorf("tag %s: %w", name, err)
	}
	if err := os.Rename(f, s.path("tags", name)); err != nil {
		return fmt.Errorf("tag %s: %w", name, err)
	}
	return subvol.SyncDir(s.path("tags"))
}

// Resolve returns the layer name points at.
func (s *Store) Resolve(ctx context.Context, name string) (LayerID, error) {
	if err := checkName("tag", name); err != nil {
		return "", err
	}
	data, err := os.ReadFile(s.path("tags", name))
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("tag %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("tag %s: %w", name, err)
	}
	id, err := ParseLayerID(strings.TrimSpace(string(data)))
	if err != nil {
		return "", fmt.Errorf("tag %s: %w", name, err)
	}
	return id, nil
}

// Untag deletes a name; its layers stay until GC.
func (s *Store) Untag(ctx context.Context, name string) error {
	if err := checkName("tag", name); err != nil {
		return err
	}
	err := os.Remove(s.path("tags", name))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("tag %s: %w", name, ErrNotFound)
	}
	return err
}

// Tags maps every name to its layer.
func (s *Store) Tags(ctx context.Context) (map[string]LayerID, error) {
	entries, err := os.ReadDir(s.path("tags"))
	if err != nil {
		return nil, err
	}
	out := make(map[string]LayerID, len(entries))
	for _, e := range entries {
		id, err := s.Resolve(ctx, e.Name())
		if err != nil {
			return nil, err
		}
		out[e.Name()] = id
	}
	return out, nil
}

// Touch records that name was used now: the tag's time is what image
// garbage collection measures its grace from.
func (s *Store) Touch(ctx context.Context, name string, now time.Time) error {
	if err := checkName("tag", name); err != nil {
		return err
	}
	err := os.Chtimes(s.path("tags", name), now, now)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("tag %s: %w", name, ErrNotFound)
	}
	return err
}

// TagTimes maps every name to when it was last tagged or touched.
func (s *Store) TagTimes(ctx context.Context) (map[string]time.Time, error) {
	entries, err := os.ReadDir(s.path("tags"))
	if err != nil {
		return nil, err
	}
	out := make(map[string]time.Time, len(entries))
	for _, e := range entries {
		info, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // untagged meanwhile
		}
		if err != nil {
			return nil, err
		}
		out[e.Name()] = info.ModTime()
	}
	return out, nil
}
