package subvol_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/flota-dev/flota/agent/image/imagetest"
	"github.com/flota-dev/flota/agent/subvol"
)

func TestSubvolumes(t *testing.T) {
	root := imagetest.NewFS(t) // a real loop BTRFS; skips without root, fails under CI=true
	ctx := t.Context()
	if ok, err := subvol.OnBtrfs(root); err != nil || !ok {
		t.Fatalf("OnBtrfs(%s) = %v, %v", root, ok, err)
	}
	// A store not made yet is where its nearest existing ancestor is.
	if ok, err := subvol.OnBtrfs(filepath.Join(root, "not", "yet")); err != nil || !ok {
		t.Fatalf("OnBtrfs of a path to be made on BTRFS = %v, %v", ok, err)
	}
	if ok, _ := subvol.OnBtrfs(t.TempDir()); ok {
		t.Fatal("a temporary directory is not on BTRFS here, yet OnBtrfs says so")
	}
	outer := filepath.Join(root, "outer")
	if err := subvol.Create(ctx, outer); err != nil {
		t.Fatal(err)
	}
	// A subvolume inside another, and a plain directory: Delete alone
	// refuses the outer one; RemoveAll removes the lot.
	if err := subvol.Create(ctx, filepath.Join(outer, "inner")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(outer, "dir", "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]bool{outer: true, filepath.Join(outer, "inner"): true, filepath.Join(outer, "dir"): false} {
		fi, err := os.Stat(path)
		if err != nil || subvol.Is(fi) != want {
			t.Fatalf("Is(%s) = %v, want %v (err %v)", path, err == nil && subvol.Is(fi), want, err)
		}
	}
	if err := subvol.Delete(ctx, outer); err == nil {
		t.Fatal("Delete removed a subvolume that holds another")
	}
	if err := subvol.RemoveAll(ctx, outer); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(outer); !os.IsNotExist(err) {
		t.Fatalf("outer still there: %v", err)
	}
	if err := subvol.RemoveAll(ctx, outer); err != nil {
		t.Fatalf("RemoveAll of nothing: %v", err)
	}
}
