package runtime_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	sdunit "github.com/coreos/go-systemd/v22/unit"

	"github.com/flota-dev/flota/agent/image"
	"github.com/flota-dev/flota/agent/image/imagetest"
	"github.com/flota-dev/flota/agent/quota"
	"github.com/flota-dev/flota/agent/runtime"
	"github.com/flota-dev/flota/agent/volume"
	"github.com/flota-dev/flota/unit"
)

// builder makes the image "web:1" (a base with /etc/os-release, an app
// layer with /app/hello) in a store of its own filesystem, and exports it
// to a DirSource directory, as a build machine would.
func builder(t *testing.T) (src string, base, app image.LayerID) {
	t.Helper()
	ctx := context.Background()
	s, err := openStore(t, filepath.Join(imagetest.NewFS(t), "images"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	layer := func(parent image.LayerID, file, content string) image.LayerID {
		return imagetest.Layer(t, s, parent, map[string][]byte{file: []byte(content)})
	}
	base = layer("", "etc/os-release", "ID=tiny\n")
	app = layer(base, "app/hello", "hello\n")
	if err := s.Tag(ctx, "web:1", app); err != nil {
		t.Fatal(err)
	}
	src = t.TempDir()
	dir := filepath.Join(src, "web_1")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, l := range []struct{ id, parent image.LayerID }{{base, ""}, {app, base}} {
		f, err := os.Create(filepath.Join(dir, strings.TrimPrefix(string(l.id), "sha256:")+".btrfs"))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Export(ctx, f, l.id, l.parent); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	writeChain(t, src, "web_1", map[string]any{"image": "web:1", "layers": []image.LayerID{base, app}})
	return src, base, app
}

func writeChain(t *testing.T, src, dir string, v any) {
	t.Helper()
	data, _ := json.Marshal(v)
	if err := os.WriteFile(filepath.Join(src, dir, "chain.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

type machine struct {
	rt      *runtime.Runtime
	images  *image.Store
	volumes *volume.Manager
	quotas  map[string]uint64
}

// newMachine is a machine's runtime on a filesystem of its own, fetching
// from the DirSource src ("": none); quotaErr, when set, is what capping a
// snapshot fails with.
func newMachine(t *testing.T, src string, quotaErr error) *machine {
	t.Helper()
	var source runtime.Source
	if src != "" {
		source = runtime.DirSource{Dir: src}
	}
	return newMachineWith(t, source, quotaErr)
}

// newMachineWith is newMachine fetching from source (nil: none).
func newMachineWith(t *testing.T, source runtime.Source, quotaErr error) *machine {
	t.Helper()
	ctx := context.Background()
	fs := imagetest.NewFS(t)
	s, err := openStore(t, filepath.Join(fs, "images"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	v, err := volume.Open(ctx, filepath.Join(fs, "volumes"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	m := &machine{images: s, volumes: v, quotas: map[string]uint64{}}
	cfg := runtime.Config{Images: s, Volumes: v, Nspawn: "/usr/bin/systemd-nspawn", Source: source}
	cfg.Quota = func(ctx context.Context, path string, n uint64) error {
		if quotaErr != nil {
			return quotaErr
		}
		m.quotas[path] = n
		return nil
	}
	m.rt = runtime.New(cfg)
	return m
}

const webUnit = `[Service]
ExecStart=/app/hello --port 8080
MemoryMax=64M

[X-Container]
Image=web:1
Volume=data-%i:/var/lib/web
DiskQuota=10M
`

func parse(t *testing.T, name, text string) *unit.File {
	t.Helper()
	f, err := unit.Parse(name, []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func tasks(t *testing.T, s *image.Store) []string {
	t.Helper()
	ts, err := s.Tasks(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, x := range ts {
		keys = append(keys, x.Key)
	}
	return keys
}

func execStart(opts []*sdunit.UnitOption) string {
	for _, o := range opts {
		if o.Section == "Service" && o.Name == "ExecStart" {
			return o.Value
		}
	}
	return ""
}

// sources are the ways a machine reaches an exported image directory: on
// its disk, and over HTTP from a SourceHandler on loopback (as from
// flotad --serve-images). served counts the requests that reached the
// server, so an HTTP test shows the image did come over HTTP.
var sources = []struct {
	name  string
	open  func(t *testing.T, dir string, served *atomic.Int64) runtime.Source
	isDir bool
}{
	{"dir", func(t *testing.T, dir string, _ *atomic.Int64) runtime.Source { return runtime.DirSource{Dir: dir} }, true},
	{"http", func(t *testing.T, dir string, served *atomic.Int64) runtime.Source {
		h := runtime.SourceHandler(dir)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			served.Add(1)
			h.ServeHTTP(w, r)
		}))
		t.Cleanup(srv.Close)
		return runtime.HTTPSource{Base: srv.URL + "/", Client: srv.Client()}
	}, false},
}

func TestPrepareFetchesRunsAndCleansUp(t *testing.T) {
	for _, s := range sources {
		t.Run(s.name, func(t *testing.T) {
			src, _, app := builder(t)
			var served atomic.Int64
			m := newMachineWith(t, s.open(t, src, &served), nil)
			testPrepareFetchesRunsAndCleansUp(t, m, app)
			if !s.isDir && served.Load() == 0 {
				t.Error("the image did not come over HTTP")
			}
		})
	}
}

func testPrepareFetchesRunsAndCleansUp(t *testing.T, m *machine, app image.LayerID) {
	ctx := t.Context()
	name := "web@3.service"
	opts, err := m.rt.Prepare(ctx, name, parse(t, name, webUnit))
	if err != nil {
		t.Fatal(err)
	}
	// The image was fetched and tagged.
	if got, err := m.images.Resolve(ctx, "web:1"); err != nil || got != app {
		t.Fatalf("Resolve(web:1) = %s, %v; want %s", got, err, app)
	}
	// The task's snapshot is the app layer's tree, writable.
	snap := m.images.SnapshotPath(runtime.Key(name))
	if data, err := os.ReadFile(filepath.Join(snap, "app/hello")); err != nil || string(data) != "hello\n" {
		t.Fatalf("snapshot app/hello: %q, %v", data, err)
	}
	if data, err := os.ReadFile(filepath.Join(snap, "etc/os-release")); err != nil || string(data) != "ID=tiny\n" {
		t.Fatalf("snapshot etc/os-release: %q, %v", data, err)
	}
	if err := os.WriteFile(filepath.Join(snap, "scratch"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The volume exists, the quota was set, and ExecStart runs nspawn there.
	vol, err := m.volumes.Path("data-3")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(vol); err != nil {
		t.Fatal(err)
	}
	if m.quotas[snap] != 10<<20 {
		t.Errorf("quotas = %v, want %s capped at 10M", m.quotas, snap)
	}
	es := execStart(opts)
	for _, want := range []string{"/usr/bin/systemd-nspawn", "--directory=" + snap, "--bind=" + vol + ":/var/lib/web", "/app/hello"} {
		if !strings.Contains(es, want) {
			t.Errorf("ExecStart=%s\nlacks %q", es, want)
		}
	}
	if !slices.ContainsFunc(opts, func(o *sdunit.UnitOption) bool { return o.Name == "Delegate" && o.Value == "yes" }) {
		t.Errorf("no Delegate=yes in %v", opts)
	}

	// Prepared again (the file lost, the agent restarted): same snapshot.
	if _, err := m.rt.Prepare(ctx, name, parse(t, name, webUnit)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(snap, "scratch")); err != nil {
		t.Errorf("snapshot was not reused: %v", err)
	}

	// Cleanup removes it; a second Cleanup is no error.
	if kept, err := m.rt.Cleanup(ctx, name, false); err != nil || kept != "" {
		t.Fatalf("Cleanup = %q, %v", kept, err)
	}
	if got := tasks(t, m.images); len(got) != 0 {
		t.Fatalf("tasks after Cleanup: %v", got)
	}
	if _, err := m.rt.Cleanup(ctx, name, false); err != nil {
		t.Fatal(err)
	}
	// The volume outlives the task.
	if _, err := os.Stat(vol); err != nil {
		t.Fatal(err)
	}

	// A failed unit's snapshot is kept, and Cleanup says where.
	if _, err := m.rt.Prepare(ctx, name, parse(t, name, webUnit)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(snap, "scratch")); err == nil {
		t.Errorf("a new task reused the old task's snapshot")
	}
	kept, err := m.rt.Cleanup(ctx, name, true)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(kept, filepath.Join(m.images.Root(), "failed")) {
		t.Fatalf("kept at %q, want under failed/", kept)
	}
	if _, err := os.Stat(filepath.Join(kept, "app/hello")); err != nil {
		t.Fatal(err)
	}
	if got := tasks(t, m.images); len(got) != 0 {
		t.Fatalf("tasks after Cleanup(failed): %v", got)
	}
}

func TestPrepareUndoesItsSnapshotOnFailure(t *testing.T) {
	ctx := context.Background()
	src, _, _ := builder(t)
	m := newMachine(t, src, errors.New("no quota for you"))
	_, err := m.rt.Prepare(ctx, "web.service", parse(t, "web.service", strings.ReplaceAll(webUnit, "%i", "x")))
	if err == nil || !strings.Contains(err.Error(), "no quota for you") {
		t.Fatalf("Prepare: %v, want the quota's error", err)
	}
	if got := tasks(t, m.images); len(got) != 0 {
		t.Fatalf("tasks left behind: %v", got)
	}
}

func TestPrepareWithoutImage(t *testing.T) {
	ctx := context.Background()
	m := newMachine(t, "", nil)
	_, err := m.rt.Prepare(ctx, "web.service", parse(t, "web.service", strings.ReplaceAll(webUnit, "%i", "x")))
	if !errors.Is(err, image.ErrNotFound) {
		t.Fatalf("Prepare without a source: %v, want ErrNotFound", err)
	}
	for _, s := range sources {
		t.Run(s.name, func(t *testing.T) {
			var served atomic.Int64
			m := newMachineWith(t, s.open(t, t.TempDir(), &served), nil)
			_, err := m.rt.Prepare(t.Context(), "web.service", parse(t, "web.service", strings.ReplaceAll(webUnit, "%i", "x")))
			if !errors.Is(err, image.ErrNotFound) {
				t.Fatalf("Prepare with a source lacking the image: %v, want ErrNotFound", err)
			}
			if got := tasks(t, m.images); len(got) != 0 {
				t.Fatalf("tasks left behind: %v", got)
			}
		})
	}
}

func TestFetchRefusesAStreamThatIsNotItsLayer(t *testing.T) {
	for _, s := range sources {
		t.Run(s.name, func(t *testing.T) {
			var served atomic.Int64
			testFetchRefusesAStreamThatIsNotItsLayer(t, func(dir string) runtime.Source { return s.open(t, dir, &served) })
			if !s.isDir && served.Load() == 0 {
				t.Error("the image did not come over HTTP")
			}
		})
	}
}

func testFetchRefusesAStreamThatIsNotItsLayer(t *testing.T, open func(dir string) runtime.Source) {
	ctx := t.Context()
	src, base, app := builder(t)
	// Claim the app layer's stream is the base's: the import must refuse it.
	hex := func(id image.LayerID) string { return strings.TrimPrefix(string(id), "sha256:") }
	stream, err := os.ReadFile(filepath.Join(src, "web_1", hex(app)+".btrfs"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "web_1", hex(base)+".btrfs"), stream, 0o644); err != nil {
		t.Fatal(err)
	}
	m := newMachineWith(t, open(src), nil)
	_, err = m.rt.Prepare(ctx, "web.service", parse(t, "web.service", strings.ReplaceAll(webUnit, "%i", "x")))
	if !errors.Is(err, image.ErrInvalid) {
		t.Fatalf("Prepare: %v, want ErrInvalid", err)
	}
	if _, err := m.images.Resolve(ctx, "web:1"); !errors.Is(err, image.ErrNotFound) {
		t.Fatalf("image tagged after a bad fetch: %v", err)
	}
}

func TestRealQuota(t *testing.T) {
	ctx := context.Background()
	src, _, _ := builder(t)
	_, s, v := storeAndVolumes(t)
	rt := runtime.New(runtime.Config{Images: s, Volumes: v, Source: runtime.DirSource{Dir: src}})
	if _, err := rt.Prepare(ctx, "web.service", parse(t, "web.service", strings.ReplaceAll(webUnit, "%i", "x"))); err != nil {
		t.Fatal(err)
	}
	q, err := quota.Show(ctx, s.SnapshotPath(runtime.Key("web.service")))
	if err != nil {
		t.Fatal(err)
	}
	if q.MaxExclusive != 10<<20 {
		t.Fatalf("qgroup %+v: want max exclusive 10M", q)
	}
}

func openStore(t *testing.T, root string) (*image.Store, error) {
	t.Helper()
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	return image.Open(context.Background(), root)
}

// storeAndVolumes opens an image store and a volume root on a BTRFS
// filesystem of their own (at fs), closed when t ends.
func storeAndVolumes(t *testing.T) (fs string, s *image.Store, v *volume.Manager) {
	t.Helper()
	fs = imagetest.NewFS(t)
	s, err := openStore(t, filepath.Join(fs, "images"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	v, err = volume.Open(context.Background(), filepath.Join(fs, "volumes"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return fs, s, v
}
