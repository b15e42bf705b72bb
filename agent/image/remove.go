package image

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// removeAll deletes path like os.RemoveAll, except that subvolumes are
// deleted whole with btrfs (os.RemoveAll cannot: a read-only one refuses
// unlink, and rmdir never removes a subvolume).
func removeAll(ctx context.Context, path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	switch {
	case isSubvolume(fi):
		return removeSubvolume(ctx, path)
	case fi.IsDir():
		entries, err := os.ReadDir(path)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if err := removeAll(ctx, filepath.Join(path, e.Name())); err != nil {
				return err
			}
		}
	}
	return os.Remove(path)
}

// removeSubvolume deletes a subvolume. Deleting one that holds other
// subvolumes fails (a task may have made some, systemd-nspawn does), so
// those go first; they are only looked for after that failure, because
// walking a task's tree is the slow part.
func removeSubvolume(ctx context.Context, path string) error {
	err := deleteSubvolume(ctx, path)
	if err == nil {
		return nil
	}
	nested, werr := nestedSubvolumes(path)
	if werr != nil || len(nested) == 0 {
		return err
	}
	for _, n := range nested {
		if err := removeAll(ctx, n); err != nil {
			return err
		}
	}
	return deleteSubvolume(ctx, path)
}

// nestedSubvolumes lists the subvolumes directly inside root (not those
// inside them: removeAll gets to those), deepest first.
func nestedSubvolumes(root string) ([]string, error) {
	var found []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root || !d.IsDir() {
			return err
		}
		if fi, err := d.Info(); err == nil && isSubvolume(fi) {
			found = append(found, p)
			return filepath.SkipDir
		}
		return nil
	})
	slices.Reverse(found)
	return found, err
}
