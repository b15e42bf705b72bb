package quota_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"

	"github.com/flota-dev/flota/agent/image/imagetest"
	"github.com/flota-dev/flota/agent/quota"
	"github.com/flota-dev/flota/agent/volume"
)

const MiB = 1 << 20

// setup makes a BTRFS filesystem with quotas on and a volume manager on
// it.
func setup(t *testing.T) (mnt string, vols *volume.Manager) {
	t.Helper()
	ctx := context.Background()
	mnt = imagetest.NewFS(t)
	if err := quota.Enable(ctx, mnt); err != nil {
		t.Fatal(err)
	}
	vols, err := volume.Open(ctx, filepath.Join(mnt, "volumes"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { vols.Close() })
	return mnt, vols
}

// write writes n bytes to path and syncs them, returning the first error.
// Quota is charged when a write reserves space, so the write(2) that would
// go over fails; Sync makes sure nothing is left to fail later.
func write(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	_, err = f.Write(make([]byte, n))
	if serr := f.Sync(); err == nil {
		err = serr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func overQuota(err error) bool {
	return errors.Is(err, syscall.EDQUOT) || errors.Is(err, syscall.ENOSPC)
}

func TestEnableIdempotent(t *testing.T) {
	ctx := context.Background()
	mnt := imagetest.NewFS(t)
	if err := os.Mkdir(filepath.Join(mnt, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	btrfs(t, "subvolume", "create", filepath.Join(mnt, "sub", "v"))
	if _, err := quota.Show(ctx, filepath.Join(mnt, "sub", "v")); !errors.Is(err, quota.ErrNotEnabled) {
		t.Errorf("Show before Enable = %v, want ErrNotEnabled", err)
	}
	for i := range 2 {
		if err := quota.Enable(ctx, mnt); err != nil {
			t.Fatalf("Enable #%d: %v", i+1, err)
		}
	}
	q, err := quota.Show(ctx, filepath.Join(mnt, "sub", "v"))
	if err != nil {
		t.Fatal(err)
	}
	if q.ID == "" || q.MaxReferenced != 0 || q.MaxExclusive != 0 {
		t.Errorf("Show = %+v, want a qgroup without limits", q)
	}
}

func TestLimit(t *testing.T) {
	ctx := context.Background()
	_, vols := setup(t)
	tests := []struct {
		name      string
		vol       string
		limit     func(ctx context.Context, path string) error
		write     int
		wantFail  bool
		wantLimit uint64 // what Usage reports as the (referenced) limit
	}{
		{name: "over the limit", vol: "over", write: 16 * MiB, wantFail: true, wantLimit: 8 * MiB,
			limit: func(ctx context.Context, p string) error { return quota.Limit(ctx, p, 8*MiB) }},
		{name: "under the limit", vol: "under", write: 4 * MiB, wantLimit: 8 * MiB,
			limit: func(ctx context.Context, p string) error { return quota.Limit(ctx, p, 8*MiB) }},
		{name: "no limit", vol: "free", write: 16 * MiB,
			limit: func(ctx context.Context, p string) error { return nil }},
		{name: "limit removed", vol: "lifted", write: 16 * MiB,
			limit: func(ctx context.Context, p string) error {
				if err := quota.Limit(ctx, p, 8*MiB); err != nil {
					return err
				}
				return quota.Limit(ctx, p, 0)
			}},
		{name: "over an exclusive limit", vol: "excl", write: 16 * MiB, wantFail: true,
			limit: func(ctx context.Context, p string) error { return quota.LimitExclusive(ctx, p, 8*MiB) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, _, err := vols.Ensure(ctx, tt.vol)
			if err != nil {
				t.Fatal(err)
			}
			if err := tt.limit(ctx, path); err != nil {
				t.Fatal(err)
			}
			err = write(filepath.Join(path, "data"), tt.write)
			switch {
			case tt.wantFail && !overQuota(err):
				t.Errorf("write of %d bytes = %v, want EDQUOT or ENOSPC", tt.write, err)
			case !tt.wantFail && err != nil:
				t.Errorf("write of %d bytes: %v", tt.write, err)
			}
			if tt.wantFail {
				t.Logf("write over the quota: %v", err)
			}
			// Usage syncs first (qgroup show --sync): accounting happens at
			// transaction commit, and without it a write just made may not
			// be counted yet.
			ref, excl, limit, err := quota.Usage(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("referenced %d, exclusive %d, limit %d", ref, excl, limit)
			if limit != tt.wantLimit {
				t.Errorf("limit = %d, want %d", limit, tt.wantLimit)
			}
			const slack = 1 * MiB // metadata, rounding of reservations
			if tt.wantFail && ref > 8*MiB+slack {
				t.Errorf("referenced %d bytes, over the 8 MiB limit", ref)
			}
			if !tt.wantFail && ref < uint64(tt.write) {
				t.Errorf("referenced %d bytes after writing %d", ref, tt.write)
			}
		})
	}
}

// TestSnapshotExclusive shows why a task snapshot's DiskQuota is an
// exclusive limit: the snapshot references all of its image, and only what
// the task writes is exclusive to it.
func TestSnapshotExclusive(t *testing.T) {
	ctx := context.Background()
	mnt, _ := setup(t)
	layer, snap := filepath.Join(mnt, "layer"), filepath.Join(mnt, "task")
	btrfs(t, "subvolume", "create", layer)
	if err := write(filepath.Join(layer, "image"), 32*MiB); err != nil {
		t.Fatal(err)
	}
	btrfs(t, "subvolume", "snapshot", "-r", layer, snap+".ro")
	btrfs(t, "subvolume", "snapshot", snap+".ro", snap)
	if err := quota.LimitExclusive(ctx, snap, 8*MiB); err != nil {
		t.Fatal(err)
	}
	if err := write(filepath.Join(snap, "small"), 4*MiB); err != nil {
		t.Errorf("4 MiB under an 8 MiB exclusive limit on a 32 MiB image: %v", err)
	}
	if err := write(filepath.Join(snap, "big"), 8*MiB); !overQuota(err) {
		t.Errorf("4+8 MiB over an 8 MiB exclusive limit = %v, want EDQUOT", err)
	}
	q, err := quota.Show(ctx, snap)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("snapshot: %+v", q)
	if q.Referenced < 32*MiB || q.Exclusive > 9*MiB || q.MaxExclusive != 8*MiB {
		t.Errorf("Show = %+v, want referenced ≥ 32 MiB, exclusive ≤ 9 MiB, max exclusive 8 MiB", q)
	}
}

func TestNotSubvolume(t *testing.T) {
	ctx := context.Background()
	mnt, _ := setup(t)
	dir := filepath.Join(mnt, "plain")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := quota.Limit(ctx, dir, MiB); !errors.Is(err, quota.ErrNotSubvolume) {
		t.Errorf("Limit on a plain dir = %v, want ErrNotSubvolume", err)
	}
	if _, _, _, err := quota.Usage(ctx, dir); !errors.Is(err, quota.ErrNotSubvolume) {
		t.Errorf("Usage on a plain dir = %v, want ErrNotSubvolume", err)
	}
	if _, _, _, err := quota.Usage(ctx, filepath.Join(mnt, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Usage on a missing path = %v, want ErrNotExist", err)
	}
}

func TestReadCapacity(t *testing.T) {
	mnt := imagetest.NewFS(t)
	c, err := quota.ReadCapacity(context.Background(), mnt)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", c)
	if c.CPUs != runtime.NumCPU() || c.MemoryBytes == 0 {
		t.Errorf("CPUs %d, memory %d", c.CPUs, c.MemoryBytes)
	}
	if c.DiskBytes == 0 || c.DiskBytes > imagetest.Size || c.DiskFreeBytes == 0 || c.DiskFreeBytes > c.DiskBytes {
		t.Errorf("disk %d, free %d; want 0 < free ≤ disk ≤ %d", c.DiskBytes, c.DiskFreeBytes, imagetest.Size)
	}
}

func btrfs(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("btrfs", args...).CombinedOutput(); err != nil {
		t.Fatalf("btrfs %v: %v: %s", args, err, out)
	}
}
