package build

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flota-dev/flota/agent/image"
	"github.com/flota-dev/flota/agent/image/imagetest"
)

func newStore(t *testing.T, sub string) *image.Store {
	t.Helper()
	mnt := imagetest.NewFS(t)
	return openStore(t, filepath.Join(mnt, sub))
}

func openStore(t *testing.T, root string) *image.Store {
	t.Helper()
	if err := os.MkdirAll(root, 0o700); err != nil {
		t.Fatal(err)
	}
	s, err := image.Open(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// writeTree writes files (path → content; "->x" makes a symlink to x)
// under dir.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, c := range files {
		p = filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		os.Remove(p)
		var err error
		if target, ok := strings.CutPrefix(c, "->"); ok {
			err = os.Symlink(target, p)
		} else {
			err = os.WriteFile(p, []byte(c), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func parseT(t *testing.T, path string) *Spec {
	t.Helper()
	s, err := ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func layerCount(t *testing.T, s *image.Store) int {
	t.Helper()
	ls, err := s.Layers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return len(ls)
}

func buildT(t *testing.T, b *Builder, specs ...*Spec) []Result {
	t.Helper()
	var out bytes.Buffer
	b.Out = &out
	res, err := b.Build(context.Background(), specs)
	t.Logf("build output:\n%s", out.String())
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestBuildIncremental(t *testing.T) {
	s := newStore(t, "store")
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"files/a":         "a\n",
		"files/b":         "b\n",
		"tree/x/y":        "y\n",
		"tree/link":       "->x/y",
		"app.flota":       "image app:1\nfrom scratch\ncopy files/a /etc/a\ncopy files/b /etc/b\ncopy tree /srv/\n",
		"app-next.flota":  "image app:2\nfrom app:1\ncopy files/a /etc/a2\n",
		"unused-as-input": "",
	})
	epoch := time.Unix(1700000000, 0)
	b := &Builder{Store: s, Epoch: epoch}
	ctx := context.Background()

	res := buildT(t, b, parseT(t, filepath.Join(dir, "app-next.flota")), parseT(t, filepath.Join(dir, "app.flota")))
	if len(res) != 2 || res[0].Name != "app:1" || res[0].Built != 3 || res[1].Built != 1 {
		t.Fatalf("first build: %+v", res)
	}
	if n := layerCount(t, s); n != 4 {
		t.Fatalf("%d layers, want 4", n)
	}
	top, err := s.Resolve(ctx, "app:1")
	if err != nil || top != res[0].Layer {
		t.Fatalf("tag app:1 = %s, %v; want %s", top, err, res[0].Layer)
	}
	chain, err := s.Chain(ctx, top)
	if err != nil || len(chain) != 3 {
		t.Fatalf("chain %v, %v", chain, err)
	}
	root := s.LayerPath(top)
	for p, want := range map[string]string{"etc/a": "a\n", "etc/b": "b\n", "srv/tree/x/y": "y\n", "srv/tree/link": "y\n"} {
		got, err := os.ReadFile(filepath.Join(root, p))
		if err != nil || string(got) != want {
			t.Errorf("%s: %q, %v; want %q", p, got, err, want)
		}
	}
	for _, p := range []string{"etc/a", "etc", "srv", "srv/tree", "srv/tree/x/y", "srv/tree/link"} {
		fi, err := os.Lstat(filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		if !fi.ModTime().Equal(epoch) {
			t.Errorf("%s: mtime %v, want the epoch %v", p, fi.ModTime(), epoch)
		}
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != 0 || st.Gid != 0 {
			t.Errorf("%s: owner %d:%d", p, st.Uid, st.Gid)
		}
	}

	t.Run("unchanged is fully cached", func(t *testing.T) {
		res2 := buildT(t, b, parseT(t, filepath.Join(dir, "app.flota")), parseT(t, filepath.Join(dir, "app-next.flota")))
		if res2[0].Built != 0 || res2[0].Cached != 3 || res2[1].Built != 0 || res2[1].Cached != 1 {
			t.Errorf("second build: %+v", res2)
		}
		if res2[0].Layer != res[0].Layer || res2[1].Layer != res[1].Layer {
			t.Errorf("layers changed: %+v, was %+v", res2, res)
		}
		if n := layerCount(t, s); n != 4 {
			t.Errorf("%d layers, want 4", n)
		}
	})

	t.Run("changed file rebuilds its step and those after", func(t *testing.T) {
		writeTree(t, dir, map[string]string{"files/b": "b2\n"})
		res3 := buildT(t, b, parseT(t, filepath.Join(dir, "app.flota")))
		if res3[0].Cached != 1 || res3[0].Built != 2 {
			t.Errorf("after change: %+v, want 1 cached, 2 built", res3[0])
		}
		if n := layerCount(t, s); n != 6 {
			t.Errorf("%d layers, want 6 (2 new)", n)
		}
		newChain, _ := s.Chain(ctx, res3[0].Layer)
		if len(newChain) != 3 || newChain[0] != chain[0] || newChain[1] == chain[1] {
			t.Errorf("chain %v, was %v: want the first layer shared, the rest new", newChain, chain)
		}
		got, _ := os.ReadFile(filepath.Join(s.LayerPath(res3[0].Layer), "etc/b"))
		if string(got) != "b2\n" {
			t.Errorf("etc/b = %q", got)
		}
	})

	t.Run("a layer deleted by GC is rebuilt", func(t *testing.T) {
		if err := s.Untag(ctx, "app:2"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GC(ctx, func(image.LayerID) bool { return false }); err != nil {
			t.Fatal(err)
		}
		res4 := buildT(t, b, parseT(t, filepath.Join(dir, "app.flota")), parseT(t, filepath.Join(dir, "app-next.flota")))
		if res4[0].Built != 0 || res4[1].Built != 1 {
			t.Errorf("after GC: %+v", res4)
		}
	})

	t.Run("dry run", func(t *testing.T) {
		writeTree(t, dir, map[string]string{
			"base.flota": "image base:1\nfrom scratch\ndebootstrap bookworm minbase busybox,systemd-sysv\n",
			"files/a":    "a changed\n",
		})
		before := layerCount(t, s)
		var out bytes.Buffer
		db := &Builder{Store: s, Out: &out, DryRun: true, Epoch: epoch}
		_, err := db.Build(ctx, []*Spec{parseT(t, filepath.Join(dir, "base.flota")), parseT(t, filepath.Join(dir, "app.flota"))})
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{
			"STEP 1/1 debootstrap bookworm minbase busybox,systemd-sysv ... would build: debootstrap --variant=minbase --include=busybox,systemd-sysv --cache-dir=" + filepath.Join(s.Root(), "debootstrap-cache") + " bookworm <tree> " + DefaultMirror + "\n",
			"base:1 = (not built: dry run)\n",
			"STEP 1/3 copy files/a /etc/a ... would build: copy files/a into the tree at /etc/a\n",
			"STEP 2/3 copy files/b /etc/b ... would build:",
		} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("dry run output lacks %q:\n%s", want, out.String())
			}
		}
		if n := layerCount(t, s); n != before {
			t.Errorf("dry run made layers: %d, was %d", n, before)
		}
	})
}

// busyboxTree writes a tree systemd-nspawn can run /bin/sh in.
func busyboxTree(t *testing.T, dir string) {
	t.Helper()
	bb := "/bin/busybox"
	if _, err := os.Stat(bb); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but no %s (apt-get install busybox-static)", bb)
		}
		t.Skipf("no %s for a run step (apt-get install busybox-static)", bb)
	}
	if out, err := exec.Command("file", "-L", bb).CombinedOutput(); err == nil && !strings.Contains(string(out), "statically linked") {
		t.Skipf("%s is not statically linked: %s", bb, out)
	}
	if _, err := exec.LookPath("systemd-nspawn"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but no systemd-nspawn")
		}
		t.Skip("no systemd-nspawn")
	}
	data, err := os.ReadFile(bb)
	if err != nil {
		t.Fatal(err)
	}
	writeTree(t, dir, map[string]string{"root/bin/sh": "->busybox", "root/usr/share/keep": ""})
	if err := os.WriteFile(filepath.Join(dir, "root/bin/busybox"), data, 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestBuildRun(t *testing.T) {
	s := newStore(t, "store")
	dir := t.TempDir()
	busyboxTree(t, dir)
	writeTree(t, dir, map[string]string{
		"sh.flota": "image sh:1\nfrom scratch\ncopy root/bin /bin\ncopy root/usr /usr\n",
		"ok.flota": "image ok:1\nfrom sh:1\nenv GREETING=hello\nrun echo $GREETING > /greeting && echo $SOURCE_DATE_EPOCH > /epoch\n",
		"bad.flota": "image bad:1\nfrom sh:1\nrun echo half > /half\n" +
			"run echo doomed > /doomed; echo to stderr >&2; exit 3\n",
	})
	ctx := context.Background()
	b := &Builder{Store: s, Epoch: time.Unix(42, 0)}
	res := buildT(t, b, parseT(t, filepath.Join(dir, "ok.flota")), parseT(t, filepath.Join(dir, "sh.flota")))
	got, err := os.ReadFile(filepath.Join(s.LayerPath(res[1].Layer), "greeting"))
	if err != nil || string(got) != "hello\n" {
		t.Errorf("greeting %q, %v", got, err)
	}
	if got, _ := os.ReadFile(filepath.Join(s.LayerPath(res[1].Layer), "epoch")); string(got) != "42\n" {
		t.Errorf("SOURCE_DATE_EPOCH in the container: %q", got)
	}

	t.Run("failing run leaves no layer and no snapshot", func(t *testing.T) {
		before := layerCount(t, s)
		var out bytes.Buffer
		bb := &Builder{Store: s, Out: &out, Epoch: b.Epoch}
		_, err := bb.Build(ctx, []*Spec{parseT(t, filepath.Join(dir, "bad.flota"))})
		if err == nil {
			t.Fatal("no error")
		}
		wantPrefix := filepath.Join(dir, "bad.flota") + ":4: run: "
		if !strings.HasPrefix(err.Error(), wantPrefix) || !strings.Contains(err.Error(), "exit status 3") || !strings.Contains(err.Error(), "to stderr") {
			t.Errorf("error %q: want it to start %q, name the exit status and quote the output", err, wantPrefix)
		}
		if !strings.Contains(out.String(), "STEP 2/2 run echo doomed > /doomed; echo to stderr >&2; exit 3 ... failed\n") {
			t.Errorf("output:\n%s", out.String())
		}
		if n := layerCount(t, s); n != before+1 { // the good first step stays, cached
			t.Errorf("%d layers, want %d", n, before+1)
		}
		tasks, err := s.Tasks(ctx)
		if err != nil || len(tasks) != 0 {
			t.Errorf("tasks left: %v, %v", tasks, err)
		}
		for _, d := range []string{"failed", "tmp"} {
			if e, _ := os.ReadDir(filepath.Join(s.Root(), d)); len(e) != 0 {
				t.Errorf("%s/ not empty: %v", d, e)
			}
		}
		if _, err := s.Resolve(ctx, "bad:1"); err == nil {
			t.Error("bad:1 was tagged")
		}
		// Fixed, the good step is reused.
		writeTree(t, dir, map[string]string{"bad.flota": "image bad:1\nfrom sh:1\nrun echo half > /half\nrun true\n"})
		res := buildT(t, bb, parseT(t, filepath.Join(dir, "bad.flota")))
		if res[0].Cached != 1 || res[0].Built != 1 {
			t.Errorf("fixed build: %+v", res[0])
		}
	})
}

func TestExport(t *testing.T) {
	mnt := imagetest.NewFS(t)
	s := openStore(t, filepath.Join(mnt, "a"))
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"files/a":   "a\n",
		"files/b":   "b\n",
		"one.flota": "image one:1\nfrom scratch\ncopy files/a /a\n",
		"two.flota": "image two:1\nfrom one:1\ncopy files/b /b\n",
	})
	buildT(t, &Builder{Store: s}, parseT(t, filepath.Join(dir, "one.flota")), parseT(t, filepath.Join(dir, "two.flota")))
	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "export")
	cf, err := Export(ctx, s, "two:1", out)
	if err != nil {
		t.Fatal(err)
	}
	var onDisk ChainFile
	data, err := os.ReadFile(filepath.Join(out, "chain.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &onDisk); err != nil {
		t.Fatal(err)
	}
	if len(onDisk.Layers) != 2 || onDisk.Image != "two:1" || onDisk.Top != cf.Top || onDisk.Layers[1].Parent != onDisk.Layers[0].ID || onDisk.Layers[0].Parent != "" {
		t.Fatalf("chain.json: %s", data)
	}
	// Another store imports the chain, each stream verified against its ID.
	s2 := openStore(t, filepath.Join(mnt, "b"))
	var parent image.LayerID
	for _, l := range onDisk.Layers {
		f, err := os.Open(filepath.Join(out, l.File))
		if err != nil {
			t.Fatal(err)
		}
		id, err := s2.ImportVerified(ctx, f, parent, l.ID)
		f.Close()
		if err != nil {
			t.Fatalf("import %s: %v", l.File, err)
		}
		parent = id
	}
	if got, err := os.ReadFile(filepath.Join(s2.LayerPath(parent), "b")); err != nil || string(got) != "b\n" {
		t.Errorf("imported /b: %q, %v", got, err)
	}
	// Exporting again skips the streams already there.
	if _, err := Export(ctx, s, "two:1", out); err != nil {
		t.Fatal(err)
	}
	if _, err := Export(ctx, s, "nope:1", out); err == nil {
		t.Error("export of an unknown image: no error")
	}
}
