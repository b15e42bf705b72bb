// Package subvol is what the agent's BTRFS users share: telling a BTRFS
// filesystem and a subvolume apart from plain ones, creating and deleting
// subvolumes, and removing a tree that holds some. The image store, the
// volume manager and the quota manager build on it; btrfs(8) from
// btrfs-progs is the interface, a fork per call.
package subvol

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

const btrfsMagic = 0x9123683E // BTRFS_SUPER_MAGIC, statfs(2) f_type

// firstFreeObjectID is the inode number of every subvolume's root
// directory, which is how a subvolume is told from a plain directory.
const firstFreeObjectID = 256

// OnBtrfs says whether path, or the nearest of its ancestors that exists,
// is on a BTRFS filesystem: where a directory not made yet would be.
func OnBtrfs(path string) (bool, error) {
	p, err := filepath.Abs(path)
	if err != nil {
		return false, err
	}
	for {
		var st syscall.Statfs_t
		err := syscall.Statfs(p, &st)
		if err == nil {
			return uint32(st.Type) == btrfsMagic, nil
		}
		if !errors.Is(err, fs.ErrNotExist) || p == "/" {
			return false, &os.PathError{Op: "statfs", Path: p, Err: err}
		}
		p = filepath.Dir(p)
	}
}

// Is says whether fi is a subvolume's root directory.
func Is(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && fi.IsDir() && st.Ino == firstFreeObjectID
}

// Btrfs runs `btrfs args...`; its stderr goes into the error.
func Btrfs(ctx context.Context, args ...string) error { return Run(ctx, nil, nil, args...) }

// Run runs `btrfs args...` with stdin and stdout as given (nil: none);
// its stderr goes into the error. Every btrfs(8) call of the agent goes
// through here.
func Run(ctx context.Context, stdin io.Reader, stdout io.Writer, args ...string) error {
	cmd := exec.CommandContext(ctx, "btrfs", args...)
	cmd.Stdin, cmd.Stdout = stdin, stdout
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	// A cancelled command must not hang on a stdin reader that blocks.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("btrfs %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// Create makes an empty subvolume at path.
func Create(ctx context.Context, path string) error {
	return Btrfs(ctx, "subvolume", "create", path)
}

// Delete deletes the subvolume at path (not the subvolumes inside it).
func Delete(ctx context.Context, path string) error {
	return Btrfs(ctx, "subvolume", "delete", path)
}

// RemoveAll deletes path like os.RemoveAll, except that subvolumes are
// deleted whole with btrfs (os.RemoveAll cannot: a read-only one refuses
// unlink, and rmdir never removes a subvolume).
func RemoveAll(ctx context.Context, path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	switch {
	case Is(fi):
		return removeSubvolume(ctx, path)
	case fi.IsDir():
		entries, err := os.ReadDir(path)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if err := RemoveAll(ctx, filepath.Join(path, e.Name())); err != nil {
				return err
			}
		}
	}
	return os.Remove(path)
}

// removeSubvolume deletes a subvolume. Deleting one that holds other
// subvolumes fails (a task may have made some: systemd-nspawn and machinectl
// do), so those go first; they are only looked for after that failure,
// because walking a tree is the slow part.
func removeSubvolume(ctx context.Context, path string) error {
	err := Delete(ctx, path)
	if err == nil {
		return nil
	}
	nested, werr := nestedSubvolumes(path)
	if werr != nil || len(nested) == 0 {
		return err
	}
	for _, n := range nested {
		if err := RemoveAll(ctx, n); err != nil {
			return err
		}
	}
	return Delete(ctx, path)
}

// nestedSubvolumes lists the subvolumes directly inside root (not those
// inside them: RemoveAll gets to those), deepest first.
func nestedSubvolumes(root string) ([]string, error) {
	var found []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root || !d.IsDir() {
			return err
		}
		if fi, err := d.Info(); err == nil && Is(fi) {
			found = append(found, p)
			return filepath.SkipDir
		}
		return nil
	})
	slices.Reverse(found)
	return found, err
}
