package volume_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/flota-dev/flota/agent/image/imagetest"
	"github.com/flota-dev/flota/agent/volume"
	"github.com/flota-dev/flota/unit"
)

// open makes a fresh BTRFS filesystem and opens a Manager on a root in
// it; the Manager is closed at cleanup.
func open(t *testing.T) (*volume.Manager, string) {
	t.Helper()
	root := filepath.Join(imagetest.NewFS(t), "volumes")
	m, err := volume.Open(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m, root
}

func isSubvolume(t *testing.T, path string) bool {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino == 256
}

func btrfs(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("btrfs", args...).CombinedOutput(); err != nil {
		t.Fatalf("btrfs %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

func list(t *testing.T, m *volume.Manager) []string {
	t.Helper()
	names, err := m.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func TestEnsure(t *testing.T) {
	ctx := context.Background()
	m, root := open(t)
	tests := []struct {
		name        string
		vol         string
		wantCreated bool
	}{
		{"first ensure creates", "web-data-3", true},
		{"second ensure finds it", "web-data-3", false},
		{"another volume", "certs", true},
		{"digits and underscore", "0_db", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, created, err := m.Ensure(ctx, tt.vol)
			if err != nil {
				t.Fatal(err)
			}
			if created != tt.wantCreated {
				t.Errorf("created = %v, want %v", created, tt.wantCreated)
			}
			if want := filepath.Join(root, tt.vol); path != want {
				t.Errorf("path = %q, want %q", path, want)
			}
			if p, err := m.Path(tt.vol); err != nil || p != path {
				t.Errorf("Path = %q, %v; want %q", p, err, path)
			}
			if !isSubvolume(t, path) {
				t.Errorf("%s is not a subvolume", path)
			}
		})
	}
	if got, want := list(t, m), []string{"0_db", "certs", "web-data-3"}; !slices.Equal(got, want) {
		t.Errorf("List = %q, want %q", got, want)
	}
	if entries, _ := os.ReadDir(filepath.Join(root, ".tmp")); len(entries) != 0 {
		t.Errorf(".tmp not empty after Ensure: %v", entries)
	}
}

func TestSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(imagetest.NewFS(t), "volumes")
	m, err := volume.Open(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	path, _, err := m.Ensure(ctx, "data")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(path, "state"), []byte("kept"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A second Manager on the same root is refused while the first is open.
	if _, err := volume.Open(ctx, root); !errors.Is(err, volume.ErrLocked) {
		t.Errorf("second Open = %v, want ErrLocked", err)
	}
	m.Close()

	m, err = volume.Open(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	path2, created, err := m.Ensure(ctx, "data")
	if err != nil || created || path2 != path {
		t.Fatalf("Ensure after reopen = %q, %v, %v; want %q, false, nil", path2, created, err, path)
	}
	got, err := os.ReadFile(filepath.Join(path2, "state"))
	if err != nil || string(got) != "kept" {
		t.Errorf("data after reopen = %q, %v; want \"kept\"", got, err)
	}
}

func TestRemove(t *testing.T) {
	ctx := context.Background()
	m, root := open(t)
	tests := []struct {
		name  string
		setup func(t *testing.T, path string) // fills the volume
	}{
		{"empty", func(t *testing.T, path string) {}},
		{"with files", func(t *testing.T, path string) {
			os.MkdirAll(filepath.Join(path, "a/b"), 0o755)
			if err := os.WriteFile(filepath.Join(path, "a/b/f"), []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"with a nested subvolume", func(t *testing.T, path string) {
			os.MkdirAll(filepath.Join(path, "var/lib/machines"), 0o755)
			btrfs(t, "subvolume", "create", filepath.Join(path, "var/lib/machines/c"))
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := fmt.Sprintf("v%d", i)
			path, _, err := m.Ensure(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			tt.setup(t, path)
			if err := m.Remove(ctx, name); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("after Remove, Lstat = %v", err)
			}
			if slices.Contains(list(t, m), name) {
				t.Errorf("List still has %s", name)
			}
			if err := m.Remove(ctx, name); !errors.Is(err, volume.ErrNotFound) {
				t.Errorf("second Remove = %v, want ErrNotFound", err)
			}
			// A volume made again under the name is new and empty.
			path, created, err := m.Ensure(ctx, name)
			if err != nil || !created {
				t.Fatalf("Ensure after Remove = %v, %v; want created", created, err)
			}
			if entries, _ := os.ReadDir(path); len(entries) != 0 {
				t.Errorf("re-made volume not empty: %v", entries)
			}
		})
	}
	if entries, _ := os.ReadDir(filepath.Join(root, ".tmp")); len(entries) != 0 {
		t.Errorf(".tmp not empty after Remove: %v", entries)
	}
}

func TestBadNames(t *testing.T) {
	tests := []struct{ name, vol string }{
		{"empty", ""},
		{"upper case", "Data"},
		{"leading dash", "-data"},
		{"leading underscore", "_data"},
		{"dot", "a.b"},
		{"dot-dot", ".."},
		{"the tmp dir", ".tmp"},
		{"the lock file", ".lock"},
		{"slash", "a/b"},
		{"traversal", "../etc"},
		{"colon", "a:b"},
		{"space", "a b"},
		{"too long", strings.Repeat("a", 129)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := volume.ValidateName(tt.vol); !errors.Is(err, volume.ErrInvalid) {
				t.Errorf("ValidateName(%q) = %v, want ErrInvalid", tt.vol, err)
			}
		})
	}
	if err := volume.ValidateName(strings.Repeat("a", 128)); err != nil {
		t.Errorf("128 characters: %v", err)
	}

	// The same names through a Manager: refused before touching the disk.
	ctx := context.Background()
	m, root := open(t)
	for _, tt := range tests {
		t.Run("manager/"+tt.name, func(t *testing.T) {
			if _, _, err := m.Ensure(ctx, tt.vol); !errors.Is(err, volume.ErrInvalid) {
				t.Errorf("Ensure(%q) = %v, want ErrInvalid", tt.vol, err)
			}
			if _, err := m.Path(tt.vol); !errors.Is(err, volume.ErrInvalid) {
				t.Errorf("Path(%q) = %v, want ErrInvalid", tt.vol, err)
			}
			if err := m.Remove(ctx, tt.vol); !errors.Is(err, volume.ErrInvalid) {
				t.Errorf("Remove(%q) = %v, want ErrInvalid", tt.vol, err)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(root, ".lock")); err != nil {
		t.Errorf("Remove(\".lock\") touched the lock: %v", err)
	}
}

// TestNamesAgreeWithUnit checks ValidateName against the rule the unit
// package applies to Volume= (which it does not export).
func TestNamesAgreeWithUnit(t *testing.T) {
	for _, name := range []string{
		"data", "web-data-3", "0", "a_b-c", strings.Repeat("a", 128),
		"", "Data", "-a", "_a", "a.b", "a/b", "..", ".tmp", strings.Repeat("a", 129),
	} {
		t.Run(name, func(t *testing.T) {
			file := fmt.Sprintf("[Service]\nExecStart=/bin/true\n[X-Container]\nImage=app:1\nVolume=%s:/data\n", name)
			_, unitErr := unit.Parse("x.service", []byte(file))
			volErr := volume.ValidateName(name)
			if (unitErr == nil) != (volErr == nil) {
				t.Errorf("unit.Parse: %v; volume.ValidateName: %v", unitErr, volErr)
			}
		})
	}
}

func TestOpenCleansTmp(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(imagetest.NewFS(t), "volumes")
	m, err := volume.Open(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	path, _, err := m.Ensure(ctx, "kept")
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	// What a crash can leave: a subvolume made but not renamed, one renamed
	// away by Remove but not deleted (with a subvolume inside), a stray file.
	tmp := filepath.Join(root, ".tmp")
	btrfs(t, "subvolume", "create", filepath.Join(tmp, "half-made"))
	btrfs(t, "subvolume", "create", filepath.Join(tmp, "gone.removed.1"))
	btrfs(t, "subvolume", "create", filepath.Join(tmp, "gone.removed.1", "inner"))
	if err := os.WriteFile(filepath.Join(tmp, "stray"), nil, 0o600); err != nil {
		t.Fatal(err)
	}

	m, err = volume.Open(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Errorf(".tmp after Open: %v", entries)
	}
	if got := list(t, m); !slices.Equal(got, []string{"kept"}) {
		t.Errorf("List = %q, want [kept]", got)
	}
	if !isSubvolume(t, path) {
		t.Errorf("volume kept lost")
	}
}

func TestCorrupt(t *testing.T) {
	ctx := context.Background()
	m, root := open(t)
	// A plain directory where a volume would be is not taken for one.
	if err := os.Mkdir(filepath.Join(root, "plain"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.Ensure(ctx, "plain"); !errors.Is(err, volume.ErrCorrupt) {
		t.Errorf("Ensure over a plain dir = %v, want ErrCorrupt", err)
	}
	if err := m.Remove(ctx, "plain"); !errors.Is(err, volume.ErrCorrupt) {
		t.Errorf("Remove of a plain dir = %v, want ErrCorrupt", err)
	}
	if got := list(t, m); len(got) != 0 {
		t.Errorf("List = %q, want none", got)
	}
}

func TestNotBtrfs(t *testing.T) {
	dir := t.TempDir()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	if uint32(st.Type) == 0x9123683E {
		t.Skip("the temporary directory is on btrfs")
	}
	if _, err := exec.LookPath("btrfs"); err != nil {
		t.Skip("no btrfs-progs")
	}
	if _, err := volume.Open(context.Background(), dir); !errors.Is(err, volume.ErrNotBtrfs) {
		t.Errorf("Open on a non-btrfs dir = %v, want ErrNotBtrfs", err)
	}
}
