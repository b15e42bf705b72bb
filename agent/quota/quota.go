package quota

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/flota-dev/flota/agent/subvol"
)

// Errors are wrapped with %w; test them with errors.Is.
var (
	// ErrNotSubvolume: the path is not a subvolume's top directory. A
	// qgroup belongs to a whole subvolume; limiting the one a plain
	// directory is in would limit far more than that directory.
	ErrNotSubvolume = errors.New("not a btrfs subvolume")
	// ErrNotEnabled: quotas are off on the filesystem (see Enable).
	ErrNotEnabled = errors.New("btrfs quotas not enabled")
	// ErrBusy: a qgroup cannot go yet: its deleted subvolume is still
	// being cleaned by the kernel.
	ErrBusy = errors.New("qgroup busy")
)

// Qgroup is what BTRFS accounts for one subvolume, in bytes. A limit of 0
// means none.
type Qgroup struct {
	ID            string // "0/<subvolume id>"
	Referenced    uint64
	Exclusive     uint64
	MaxReferenced uint64
	MaxExclusive  uint64
}

// Enable turns quotas on for the filesystem mountpoint is on, and waits
// for the rescan that starts. On a filesystem with quotas on already it
// does nothing.
func Enable(ctx context.Context, mountpoint string) error {
	for _, args := range enableArgs(mountpoint) {
		if _, err := btrfs(ctx, args...); err != nil {
			return err
		}
	}
	return nil
}

// Limit caps the bytes the subvolume at subvolPath references; 0 removes
// the cap.
func Limit(ctx context.Context, subvolPath string, bytes uint64) error {
	return limit(ctx, subvolPath, bytes, false)
}

// LimitExclusive caps the bytes exclusive to the subvolume at subvolPath
// (those it shares with no snapshot or layer); 0 removes the cap.
func LimitExclusive(ctx context.Context, subvolPath string, bytes uint64) error {
	return limit(ctx, subvolPath, bytes, true)
}

func limit(ctx context.Context, path string, bytes uint64, exclusive bool) error {
	if err := checkSubvolume(path); err != nil {
		return err
	}
	_, err := btrfs(ctx, limitArgs(path, bytes, exclusive)...)
	return err
}

// Usage reports the subvolume's referenced and exclusive bytes and its
// limit on referenced bytes (0: none).
func Usage(ctx context.Context, subvolPath string) (referenced, exclusive, limit uint64, err error) {
	q, err := Show(ctx, subvolPath)
	return q.Referenced, q.Exclusive, q.MaxReferenced, err
}

// Show reports the subvolume's qgroup, after syncing the filesystem so
// that it counts what has been written.
func Show(ctx context.Context, subvolPath string) (Qgroup, error) {
	if err := checkSubvolume(subvolPath); err != nil {
		return Qgroup{}, err
	}
	out, err := btrfs(ctx, showArgs(subvolPath)...)
	if err != nil {
		return Qgroup{}, err
	}
	return parseQgroupShow(out)
}

// enableArgs: turn quotas on, then wait for the rescan that enabling
// starts, without starting another (-W): numbers read during a rescan are
// wrong.
func enableArgs(mountpoint string) [][]string {
	return [][]string{
		{"quota", "enable", mountpoint},
		{"quota", "rescan", "-W", mountpoint},
	}
}

func limitArgs(path string, bytes uint64, exclusive bool) []string {
	size := "none"
	if bytes > 0 {
		size = strconv.FormatUint(bytes, 10)
	}
	args := []string{"qgroup", "limit"}
	if exclusive {
		args = append(args, "-e")
	}
	return append(args, size, path)
}

// showArgs: -r and -e add the two limit columns, -f keeps to the path's own
// qgroup (not those above it), --raw prints bytes, --sync commits first.
func showArgs(path string) []string {
	return []string{"qgroup", "show", "-ref", "--raw", "--sync", path}
}

// parseQgroupShow reads the output of showArgs (btrfs-progs 6.2):
//
//	Qgroupid    Referenced    Exclusive  Max referenced  Max exclusive   Path
//	--------    ----------    ---------  --------------  -------------   ----
//	0/256          8372224      8372224         8388608           none   v1
//
// and returns the first level-0 qgroup (the subvolume's own).
func parseQgroupShow(out []byte) (Qgroup, error) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 5 || !strings.HasPrefix(f[0], "0/") {
			continue
		}
		q := Qgroup{ID: f[0]}
		for i, dst := range []*uint64{&q.Referenced, &q.Exclusive, &q.MaxReferenced, &q.MaxExclusive} {
			v := f[i+1]
			if v == "none" && i >= 2 {
				continue
			}
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return Qgroup{}, fmt.Errorf("btrfs qgroup show: line %q: %v", sc.Text(), err)
			}
			*dst = n
		}
		return q, nil
	}
	return Qgroup{}, fmt.Errorf("btrfs qgroup show: no subvolume qgroup in %q", out)
}

func checkSubvolume(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !subvol.Is(fi) {
		return fmt.Errorf("%s: %w", path, ErrNotSubvolume)
	}
	return nil
}

// btrfs runs `btrfs args...` and returns its stdout; the error wraps
// ErrNotEnabled or ErrBusy when that is what btrfs said.
func btrfs(ctx context.Context, args ...string) ([]byte, error) {
	var stdout bytes.Buffer
	err := subvol.Run(ctx, nil, &stdout, args...)
	switch {
	case err == nil:
		return stdout.Bytes(), nil
	case strings.Contains(err.Error(), "quotas not enabled"):
		return nil, fmt.Errorf("%w: %w", ErrNotEnabled, err)
	case strings.Contains(err.Error(), "Device or resource busy"):
		return nil, fmt.Errorf("%w: %w", ErrBusy, err)
	}
	return nil, err
}

// ClearStale drops the qgroups left by deleted subvolumes on the
// filesystem path is on: BTRFS keeps each one (and its accounting) until
// told. Without quotas there are none, and it does nothing. A subvolume
// deleted moments ago is still being cleaned and its qgroup cannot go
// yet: that is ErrBusy, and a later call clears it.
func ClearStale(ctx context.Context, path string) error {
	_, err := btrfs(ctx, "qgroup", "clear-stale", path)
	if errors.Is(err, ErrNotEnabled) {
		return nil
	}
	return err
}
