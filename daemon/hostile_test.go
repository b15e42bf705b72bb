package daemon

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/flota-dev/flota/registry/registrytest"
)

// TestHostileWatchers: watchers that never read do not grow flotad's
// memory without bound. A flotad serving only its embedded etcd, in a
// process of its own so that its RSS is its own, takes 20 MB of writes with
// no watcher, then 20 MB more with 200 watchers of the whole prefix that
// never read an event: etcd holds a slow watcher's events back (gRPC's
// flow control, then its victim list, which reads them again from the
// store), so the second growth stays within the first plus a bound per
// watcher, far below a copy of the writes each.
func TestHostileWatchers(t *testing.T) {
	if testing.Short() {
		t.Skip("builds flotad and writes 40 MB")
	}
	bin := filepath.Join(t.TempDir(), "flotad")
	build := exec.Command("go", "build", "-o", bin, "./cmd/flotad")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build flotad: %v\n%s", err, out)
	}
	endpoint := fmt.Sprintf("http://127.0.0.1:%d", registrytest.FreePort(t))
	cmd := exec.Command(bin, "--machine-id=hostile", "--agent=false", "--engine=false", "--data-dir="+t.TempDir(),
		"--listen-client-urls="+endpoint, fmt.Sprintf("--listen-peer-urls=http://127.0.0.1:%d", registrytest.FreePort(t)), "--log-level=warn")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() }()
	rss := func() int64 {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				return kb << 10
			}
		}
		t.Fatal("no VmRSS")
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	newClient := func() *clientv3.Client {
		c, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	w := newClient()
	for deadline := time.Now().Add(30 * time.Second); ; {
		rctx, rcancel := context.WithTimeout(ctx, time.Second)
		_, err := w.Get(rctx, "x")
		rcancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("etcd not serving: %v", err)
		}
	}
	value := strings.Repeat("x", 20<<10)
	write := func(dir string) {
		t.Helper()
		for i := range 1000 {
			if _, err := w.Put(ctx, fmt.Sprintf("/flota/hostile/%s/%05d", dir, i), value); err != nil {
				t.Fatal(err)
			}
		}
	}
	start := rss()
	write("a")
	plain := rss()
	for range 20 {
		c := newClient()
		for range 10 {
			c.Watch(ctx, "/flota/hostile/", clientv3.WithPrefix()) // never read
		}
	}
	write("b")
	hostile := rss()
	grewPlain, grewHostile := plain-start, hostile-plain
	t.Logf("flotad RSS: %d MiB at start, +%d MiB for 20 MB of writes, +%d MiB for 20 MB more with 200 watchers that never read",
		start>>20, grewPlain>>20, grewHostile>>20)
	// Held back, a watcher costs at most what gRPC's flow control lets
	// through to it: about 2 MiB each on a loaded box under the race
	// detector (421 MiB for 200), against the 20 MB each of every event
	// kept for it (4 GB).
	if limit := grewPlain + 200*4<<20; grewHostile > limit {
		t.Errorf("200 watchers that never read grew flotad by %d MiB, over %d MiB (the same writes without them, plus 4 MiB a watcher)", grewHostile>>20, limit>>20)
	}
}
