package image

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// failedTime is the suffix RemoveSnapshot(key, true) gives a kept
// snapshot: sortable, and free of '-', so the key is what comes before
// the last '-'.
const failedTime = "20060102T150405.000000000Z"

// Kept is a task snapshot kept in failed/ for inspection.
type Kept struct {
	Key  string    // the task key it ran under
	Name string    // its entry under failed/
	At   time.Time // when it was kept
}

// KeptPath is a kept snapshot's tree.
func (s *Store) KeptPath(k Kept) string { return s.path("failed", k.Name, "rootfs") }

// Failed lists the kept snapshots, oldest first. Entries that are not
// named as RemoveSnapshot names them are not listed (and never removed).
func (s *Store) Failed(ctx context.Context) ([]Kept, error) {
	entries, err := os.ReadDir(s.path("failed"))
	if err != nil {
		return nil, err
	}
	var out []Kept
	for _, e := range entries {
		i := strings.LastIndexByte(e.Name(), '-')
		if i <= 0 {
			continue
		}
		at, err := time.Parse(failedTime, e.Name()[i+1:])
		if err != nil {
			continue
		}
		out = append(out, Kept{Key: e.Name()[:i], Name: e.Name(), At: at})
	}
	slices.SortFunc(out, func(a, b Kept) int { return a.At.Compare(b.At) })
	return out, nil
}

// RemoveFailed deletes a kept snapshot.
func (s *Store) RemoveFailed(ctx context.Context, k Kept) error {
	if k.Name == "" || k.Name != filepath.Base(k.Name) || k.Name[0] == '.' {
		return fmt.Errorf("failed snapshot %q: %w", k.Name, ErrInvalid)
	}
	err := s.unpublish(ctx, s.path("failed", k.Name), "rm")
	if errors.Is(err, ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("failed snapshot %s: %w", k.Name, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("failed snapshot %s: %w", filepath.Join("failed", k.Name), err)
	}
	return nil
}
