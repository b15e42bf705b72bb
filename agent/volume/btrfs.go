package volume

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Every btrfs(8) command the manager runs is here. The helpers are copied,
// trimmed, from agent/image/btrfs.go and remove.go, which does not export
// them.

const btrfsMagic = 0x9123683E // BTRFS_SUPER_MAGIC, statfs(2) f_type

// firstFreeObjectID is the inode number of every subvolume's root
// directory, which is how a subvolume is told from a plain directory.
const firstFreeObjectID = 256

func onBtrfs(path string) (bool, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return false, err
	}
	return uint32(st.Type) == btrfsMagic, nil
}

func isSubvolume(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && fi.IsDir() && st.Ino == firstFreeObjectID
}

func btrfs(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, "btrfs", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("btrfs %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

func createSubvolume(ctx context.Context, path string) error {
	return btrfs(ctx, "subvolume", "create", path)
}

func deleteSubvolume(ctx context.Context, path string) error {
	return btrfs(ctx, "subvolume", "delete", path)
}

// removeAll deletes path like os.RemoveAll, except that subvolumes are
// deleted whole with btrfs (rmdir never removes a subvolume).
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
// subvolumes fails (a container may make some: systemd-nspawn and
// machinectl do), so those go first; they are only looked for after that
// failure, because walking a volume's tree is the slow part.
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
