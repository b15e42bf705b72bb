package image_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/flota-dev/flota/agent/image"
	"github.com/flota-dev/flota/agent/image/imagetest"
)

func TestBuildTagResolveChain(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	base := build(t, s, "", baseFiles)
	site := build(t, s, base, siteFiles)
	app := build(t, s, site, appFiles)

	if err := s.Tag(ctx, "app-web:3", app); err != nil {
		t.Fatal(err)
	}
	got, err := s.Resolve(ctx, "app-web:3")
	if err != nil || got != app {
		t.Fatalf("Resolve = %s, %v; want %s", got, err, app)
	}
	chain, err := s.Chain(ctx, got)
	if err != nil || !slices.Equal(chain, []image.LayerID{base, site, app}) {
		t.Fatalf("Chain = %v, %v; want base, site, app", chain, err)
	}
	m, err := s.Layer(ctx, app)
	if err != nil || m.Parent != site || m.Size == 0 {
		t.Fatalf("Layer(app) = %+v, %v", m, err)
	}
	want := map[string]string{
		"etc/os-release":  "ID=debian\nVARIANT=web\n",
		"etc/resolv.conf": "nameserver 10.0.0.1\n",
		"bin/sh":          string(baseFiles["bin/sh"]),
		"srv/web/app":     "#!/bin/sh\necho hello\n",
	}
	if got := tree(t, s.LayerPath(app)); !equalMaps(got, want) {
		t.Fatalf("app layer holds %v", got)
	}
	if err := os.WriteFile(filepath.Join(s.LayerPath(app), "x"), nil, 0o644); err == nil {
		t.Fatal("a layer is writable")
	}
	// Retagging moves the name.
	if err := s.Tag(ctx, "app-web:3", site); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Resolve(ctx, "app-web:3"); got != site {
		t.Fatalf("after retag Resolve = %s, want %s", got, site)
	}
}

func TestNamesAndIDsAreChecked(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	base := build(t, s, "", baseFiles)
	missing := image.LayerID("sha256:" + string(bytes.Repeat([]byte("0"), 64)))
	for _, c := range []struct {
		name string
		err  error
		want error
	}{
		{"tag of a missing layer", s.Tag(ctx, "a", missing), image.ErrNotFound},
		{"tag with a slash", s.Tag(ctx, "a/b", base), image.ErrInvalid},
		{"tag dot-dot", s.Tag(ctx, "..", base), image.ErrInvalid},
		{"tag empty", s.Tag(ctx, "", base), image.ErrInvalid},
		{"tag of a malformed id", s.Tag(ctx, "a", "sha256:xyz"), image.ErrInvalid},
		{"resolve unknown", second(s.Resolve(ctx, "nope:1")), image.ErrNotFound},
		{"untag unknown", s.Untag(ctx, "nope:1"), image.ErrNotFound},
		{"chain of a missing layer", second(s.Chain(ctx, missing)), image.ErrNotFound},
		{"snapshot of a missing layer", second(s.Snapshot(ctx, missing, "t")), image.ErrNotFound},
		{"snapshot key with a slash", second(s.Snapshot(ctx, base, "../t")), image.ErrInvalid},
		{"remove unknown snapshot", second(s.RemoveSnapshot(ctx, "nope", false)), image.ErrNotFound},
		{"keep unknown snapshot", second(s.RemoveSnapshot(ctx, "nope", true)), image.ErrNotFound},
		{"commit a plain directory", second(s.Commit(ctx, t.TempDir(), "")), image.ErrInvalid},
		{"export a missing layer", s.Export(ctx, &bytes.Buffer{}, missing, ""), image.ErrNotFound},
		{"export against a missing parent", s.Export(ctx, &bytes.Buffer{}, base, missing), image.ErrNotFound},
	} {
		t.Run(c.name, func(t *testing.T) {
			if !errors.Is(c.err, c.want) {
				t.Fatalf("got %v, want %v", c.err, c.want)
			}
		})
	}
}

func TestShipToAnotherStore(t *testing.T) {
	ctx := context.Background()
	a, b := newStore(t), newStore(t)
	base := build(t, a, "", baseFiles)
	app := build(t, a, base, appFiles)

	full, inc := export(t, a, base, ""), export(t, a, app, base)
	if len(inc) >= len(full) {
		t.Errorf("incremental stream %d bytes, full %d: the app layer should cost its diff", len(inc), len(full))
	}
	gotBase, err := b.Import(ctx, bytes.NewReader(full), "")
	if err != nil || gotBase != base {
		t.Fatalf("Import(base) = %s, %v; want %s", gotBase, err, base)
	}
	gotApp, err := b.ImportVerified(ctx, bytes.NewReader(inc), base, app)
	if err != nil || gotApp != app {
		t.Fatalf("Import(app) = %s, %v; want %s", gotApp, err, app)
	}
	sameTree(t, b.LayerPath(base), a.LayerPath(base))
	sameTree(t, b.LayerPath(app), a.LayerPath(app))
	if chain, err := b.Chain(ctx, app); err != nil || !slices.Equal(chain, []image.LayerID{base, app}) {
		t.Fatalf("Chain in the second store = %v, %v", chain, err)
	}

	t.Run("importing a layer again is a no-op", func(t *testing.T) {
		if id, err := b.Import(ctx, bytes.NewReader(inc), base); err != nil || id != app {
			t.Fatalf("Import again = %s, %v", id, err)
		}
		if id, err := b.ImportVerified(ctx, errReader{}, base, app); err != nil || id != app {
			t.Fatalf("ImportVerified of a present layer read its stream: %s, %v", id, err)
		}
		if got := ls(t, filepath.Join(b.Root(), "layers")); len(got) != 2 {
			t.Fatalf("layers = %v, want 2", got)
		}
		if got := ls(t, filepath.Join(b.Root(), "tmp")); len(got) != 0 {
			t.Fatalf("tmp = %v, want empty", got)
		}
	})
	t.Run("exporting again gives the same bytes", func(t *testing.T) {
		if !bytes.Equal(export(t, a, app, base), inc) {
			t.Fatal("a second export differs: IDs would not be reproducible")
		}
	})
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("read") }

func TestBadImportLeavesNothing(t *testing.T) {
	ctx := context.Background()
	a, b := newStore(t), newStore(t)
	base := build(t, a, "", baseFiles)
	app := build(t, a, base, appFiles)
	other := build(t, a, "", map[string][]byte{"x": []byte("x")})
	full, inc := export(t, a, base, ""), export(t, a, app, base)
	// What plain btrfs send gives of a subvolume outside any store.
	plain := filepath.Join(a.Root(), "plain")
	btrfsCmd(t, "subvolume", "snapshot", "-r", a.LayerPath(base), plain)
	var fb bytes.Buffer
	cmd := exec.Command("btrfs", "send", plain)
	cmd.Stdout = &fb
	must(t, cmd.Run())
	foreign := fb.Bytes()
	flip := func(p []byte, i int) []byte { p = bytes.Clone(p); p[i] ^= 0xff; return p }

	for _, c := range []struct {
		name   string
		stream []byte
		parent image.LayerID
		want   image.LayerID
		err    error
	}{
		{"garbage", []byte("not a btrfs stream at all"), "", "", image.ErrInvalid},
		{"empty", nil, "", "", image.ErrInvalid},
		{"flipped byte in file data", flip(full, len(full)/2), "", "", image.ErrInvalid},
		{"flipped byte in the header", flip(full, 3), "", "", image.ErrInvalid},
		{"truncated mid-command", full[:len(full)/2+7], "", "", image.ErrInvalid},
		{"truncated before its end command", full[:len(full)-10], "", "", image.ErrInvalid},
		{"a subvolume not named rootfs", foreign, "", "", image.ErrInvalid},
		{"digest not the one wanted", full, "", other, image.ErrInvalid},
		{"incremental without its parent here", inc, "", "", image.ErrInvalid},
		{"incremental against a missing parent", inc, base, "", image.ErrNotFound},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := b.ImportVerified(ctx, bytes.NewReader(c.stream), c.parent, c.want)
			t.Log(err)
			if !errors.Is(err, c.err) {
				t.Fatalf("ImportVerified = %v, want %v", err, c.err)
			}
			for _, d := range []string{"layers", "tmp"} {
				if got := ls(t, filepath.Join(b.Root(), d)); len(got) != 0 {
					t.Fatalf("%s/ = %v after a failed import, want empty", d, got)
				}
			}
		})
	}
}

func TestSnapshot(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	base := build(t, s, "", baseFiles)
	dir, err := s.Snapshot(ctx, base, "web@3.service")
	if err != nil {
		t.Fatal(err)
	}
	sameTree(t, dir, s.LayerPath(base))
	writeFiles(t, dir, map[string][]byte{"etc/motd": []byte("task\n"), "var/log/app": []byte("log\n")})
	if got, _ := os.ReadFile(filepath.Join(s.LayerPath(base), "etc/motd")); string(got) != "base\n" {
		t.Fatalf("a task's write reached its layer: motd = %q", got)
	}
	if _, err := s.Snapshot(ctx, base, "web@3.service"); !errors.Is(err, image.ErrExists) {
		t.Fatalf("second Snapshot with the same key = %v, want ErrExists", err)
	}
	tasks, err := s.Tasks(ctx)
	if err != nil || len(tasks) != 1 || tasks[0].Layer != base {
		t.Fatalf("Tasks = %+v, %v", tasks, err)
	}
	if task, err := s.Task(ctx, "web@3.service"); err != nil || task.Layer != base {
		t.Fatalf("Task(web@3.service) = %+v, %v", task, err)
	}
	if _, err := s.Task(ctx, "web@4.service"); !errors.Is(err, image.ErrNotFound) {
		t.Fatalf("Task of a key without a snapshot = %v, want ErrNotFound", err)
	}

	t.Run("kept", func(t *testing.T) {
		kept, err := s.RemoveSnapshot(ctx, "web@3.service", true)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(filepath.Join(kept, "var/log/app")); string(got) != "log\n" {
			t.Fatalf("kept snapshot at %s lost the task's files", kept)
		}
		if _, err := os.Stat(s.SnapshotPath("web@3.service")); !os.IsNotExist(err) {
			t.Fatalf("kept snapshot still under tasks/: %v", err)
		}
	})
	t.Run("removed, nested subvolumes too", func(t *testing.T) {
		dir, err := s.Snapshot(ctx, base, "web@4.service")
		if err != nil {
			t.Fatal(err)
		}
		// systemd-nspawn makes subvolumes inside a container's tree.
		if out, err := exec.Command("btrfs", "subvolume", "create", filepath.Join(dir, "nested")).CombinedOutput(); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if got, err := s.RemoveSnapshot(ctx, "web@4.service", false); err != nil || got != "" {
			t.Fatalf("RemoveSnapshot = %q, %v", got, err)
		}
		if got := ls(t, filepath.Join(s.Root(), "tasks")); len(got) != 0 {
			t.Fatalf("tasks/ = %v", got)
		}
	})
}

func TestGC(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	base := build(t, s, "", baseFiles)
	tagged := build(t, s, base, map[string][]byte{"tagged": []byte("1")})
	loose := build(t, s, base, map[string][]byte{"loose": []byte("1")})
	looseChild := build(t, s, loose, map[string][]byte{"child": []byte("1")})
	running := build(t, s, base, map[string][]byte{"running": []byte("1")})
	held := build(t, s, base, map[string][]byte{"held": []byte("1")})
	orphan := build(t, s, "", map[string][]byte{"orphan": []byte("1")})
	must(t, s.Tag(ctx, "app:1", tagged))
	if _, err := s.Snapshot(ctx, running, "task"); err != nil {
		t.Fatal(err)
	}
	inUse := func(id image.LayerID) bool { return id == held }

	deleted, err := s.GC(ctx, inUse)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(deleted)
	want := []image.LayerID{loose, looseChild, orphan}
	slices.Sort(want)
	if !slices.Equal(deleted, want) {
		t.Fatalf("GC deleted %v, want %v", deleted, want)
	}
	for _, id := range []image.LayerID{base, tagged, running, held} {
		if _, err := s.Layer(ctx, id); err != nil {
			t.Fatalf("GC deleted a used layer: %v", err)
		}
	}
	if _, err := s.Layer(ctx, loose); !errors.Is(err, image.ErrNotFound) {
		t.Fatalf("Layer(deleted) = %v", err)
	}

	// Once the task is gone (kept for inspection or not), its layer goes.
	if _, err := s.RemoveSnapshot(ctx, "task", true); err != nil {
		t.Fatal(err)
	}
	must(t, s.Untag(ctx, "app:1"))
	deleted, err = s.GC(ctx, nil)
	if err != nil || len(deleted) != 4 {
		t.Fatalf("second GC = %v, %v; want the 4 remaining layers", deleted, err)
	}
	if got := ls(t, filepath.Join(s.Root(), "tmp")); len(got) != 0 {
		t.Fatalf("tmp/ = %v after GC", got)
	}
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	t.Run("cleans what a crash left in tmp", func(t *testing.T) {
		s := newStore(t)
		base := build(t, s, "", baseFiles)
		root := s.Root()
		// A commit that died after its read-only snapshot, an import that
		// died mid-receive (a writable subvolume), a tag half written.
		crashed := filepath.Join(root, "tmp", "commit-1")
		must(t, os.Mkdir(crashed, 0o700))
		btrfsCmd(t, "subvolume", "snapshot", "-r", s.LayerPath(base), filepath.Join(crashed, "rootfs"))
		btrfsCmd(t, "subvolume", "create", filepath.Join(root, "tmp", "import-2"))
		must(t, os.WriteFile(filepath.Join(root, "tmp", "tag"), []byte("sha"), 0o600))
		must(t, s.Close())

		s, err := image.Open(ctx, root)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if got := ls(t, filepath.Join(root, "tmp")); len(got) != 0 {
			t.Fatalf("tmp/ = %v after Open, want empty", got)
		}
		if _, err := s.Layer(ctx, base); err != nil {
			t.Fatalf("Open lost a committed layer: %v", err)
		}
	})
	t.Run("one store per root", func(t *testing.T) {
		s := newStore(t)
		if _, err := image.Open(ctx, s.Root()); !errors.Is(err, image.ErrLocked) {
			t.Fatalf("second Open = %v, want ErrLocked", err)
		}
	})
	t.Run("refuses a root not on btrfs", func(t *testing.T) {
		dir := t.TempDir()
		if fsType(t, dir) == "btrfs" {
			t.Skip("the temporary directory is on btrfs")
		}
		if _, err := image.Open(ctx, dir); !errors.Is(err, image.ErrNotBtrfs) {
			t.Fatalf("Open = %v, want ErrNotBtrfs", err)
		}
	})
}

func second[T any](_ T, err error) error { return err }

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func btrfsCmd(t testing.TB, args ...string) {
	t.Helper()
	if out, err := exec.Command("btrfs", args...).CombinedOutput(); err != nil {
		t.Fatalf("btrfs %v: %v: %s", args, err, out)
	}
}

func fsType(t testing.TB, dir string) string {
	out, err := exec.Command("stat", "-f", "-c", "%T", dir).Output()
	if err != nil {
		t.Fatal(err)
	}
	return string(bytes.TrimSpace(out))
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// btrfs receive finds an incremental stream's parent by UUID anywhere on
// the filesystem; the store must still refuse to record the wrong parent.
func TestImportAgainstTheWrongParent(t *testing.T) {
	ctx := context.Background()
	a, b := newStore(t), newStore(t)
	base := build(t, a, "", baseFiles)
	app := build(t, a, base, appFiles)
	other := build(t, a, "", map[string][]byte{"x": []byte("x")})
	for _, id := range []image.LayerID{base, other} {
		if _, err := b.Import(ctx, bytes.NewReader(export(t, a, id, "")), ""); err != nil {
			t.Fatal(err)
		}
	}
	_, err := b.Import(ctx, bytes.NewReader(export(t, a, app, base)), other)
	if !errors.Is(err, image.ErrInvalid) {
		t.Fatalf("Import against the wrong parent = %v, want ErrInvalid", err)
	}
	if got := ls(t, filepath.Join(b.Root(), "layers")); len(got) != 2 {
		t.Fatalf("layers/ = %v, want the 2 bases", got)
	}
}

// Stores on one filesystem (harness machines on a shared pool): btrfs
// receive may take another store's copy of the parent. That copy is the
// same layer, so the import is good; a different layer still is not.
func TestImportAgainstAnotherStoresCopyOfTheParent(t *testing.T) {
	ctx := context.Background()
	fs := imagetest.NewFS(t)
	open := func(name string) *image.Store {
		dir := filepath.Join(fs, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		s, err := image.Open(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	a, b, c := open("a"), open("b"), open("c")
	base := build(t, a, "", baseFiles)
	app := build(t, a, base, appFiles)
	other := build(t, a, "", map[string][]byte{"x": []byte("x")})
	// c's copy of base is received first, so receive finds it first.
	for _, s := range []*image.Store{c, b} {
		if _, err := s.Import(ctx, bytes.NewReader(export(t, a, base, "")), ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Import(ctx, bytes.NewReader(export(t, a, other, "")), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Import(ctx, bytes.NewReader(export(t, a, app, base)), other); !errors.Is(err, image.ErrInvalid) {
		t.Fatalf("Import against the wrong parent = %v, want ErrInvalid", err)
	}
	for _, s := range []*image.Store{b, c} {
		got, err := s.ImportVerified(ctx, bytes.NewReader(export(t, a, app, base)), base, app)
		if err != nil || got != app {
			t.Fatalf("%s: ImportVerified(app) = %v, %v", s.Root(), got, err)
		}
		dir, err := s.Snapshot(ctx, app, "t")
		if err != nil {
			t.Fatal(err)
		}
		sameTree(t, dir, a.LayerPath(app))
	}
}
