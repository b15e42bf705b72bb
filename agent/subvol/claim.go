package subvol

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

// Sentinels of Claim.
var (
	ErrNotBtrfs = errors.New("not on btrfs")
	ErrLocked   = errors.New("in use by another owner")
)

// Claim readies root, a directory on BTRFS (made if missing), for one
// owner: btrfs-progs is there, root/tmp is created and emptied of what an
// interrupted operation left there (crash-safe users build under tmp/ and
// rename into place), and an exclusive flock on root/lockName keeps a
// second owner, in this process or another, out. Closing the returned
// file releases the claim.
func Claim(ctx context.Context, root, tmp, lockName string) (*os.File, error) {
	if _, err := exec.LookPath("btrfs"); err != nil {
		return nil, fmt.Errorf("%s: btrfs-progs: %w", root, err)
	}
	if ok, err := OnBtrfs(root); err != nil {
		return nil, fmt.Errorf("%s: %w", root, err)
	} else if !ok {
		return nil, fmt.Errorf("%s: %w", root, ErrNotBtrfs)
	}
	tmpDir := filepath.Join(root, tmp)
	if err := os.MkdirAll(tmpDir, 0o700); err != nil {
		return nil, err
	}
	lock, err := os.OpenFile(filepath.Join(root, lockName), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return nil, fmt.Errorf("%s: %w (%v)", root, ErrLocked, err)
	}
	entries, err := os.ReadDir(tmpDir)
	if err != nil {
		lock.Close()
		return nil, err
	}
	for _, e := range entries {
		if err := RemoveAll(ctx, filepath.Join(tmpDir, e.Name())); err != nil {
			lock.Close()
			return nil, fmt.Errorf("cleaning %s: %w", tmpDir, err)
		}
	}
	return lock, nil
}

// SyncDir makes a rename in dir durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
