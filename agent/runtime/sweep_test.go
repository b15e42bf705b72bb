package runtime_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flota-dev/flota/agent/quota"
	"github.com/flota-dev/flota/agent/runtime"
)

// TestSweep walks one machine through a day on real BTRFS with real
// quotas: an orphaned snapshot goes at once, a failed one is kept until
// the unit fails again or it expires, the image stays for its grace after
// its last task ended, then its layers and every qgroup of what was
// deleted go.
func TestSweep(t *testing.T) {
	ctx := context.Background()
	src, base, app := builder(t)
	fs, s, v := storeAndVolumes(t)
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	rt := runtime.New(runtime.Config{Images: s, Volumes: v, Source: runtime.DirSource{Dir: src},
		ImageGrace: 30 * time.Minute, KeepFailed: 24 * time.Hour, Now: func() time.Time { return now }})
	sweep := func(units ...string) runtime.Swept {
		t.Helper()
		sw, err := rt.Sweep(ctx, units, now)
		if err != nil {
			t.Fatalf("Sweep(%v) at %v: %v", units, now, err)
		}
		return sw
	}
	prepare := func(name string) {
		t.Helper()
		if _, err := rt.Prepare(ctx, name, parse(t, name, webUnit)); err != nil {
			t.Fatal(err)
		}
	}
	prepare("web@1.service")
	prepare("web@2.service")
	orphan := s.SnapshotPath(runtime.Key("web@2.service"))
	orphanQgroup := qgroupOf(t, orphan)

	if sw := sweep("web@1.service", "web@2.service"); len(sw.Items()) != 0 || !sw.Next.IsZero() {
		t.Fatalf("sweep with every unit live removed %v, next %v", sw.Items(), sw.Next)
	}
	// web@2's agent crashed between removing its unit and cleaning up.
	sw := sweep("web@1.service")
	if !slices.Equal(sw.Tasks, []string{runtime.Key("web@2.service")}) {
		t.Fatalf("orphan sweep removed %v, want web@2's task", sw.Items())
	}
	if got := tasks(t, s); !slices.Equal(got, []string{runtime.Key("web@1.service")}) {
		t.Fatalf("tasks after sweep %v", got)
	}
	// Its qgroup goes when the kernel has cleaned the subvolume: at
	// once, or at the sweep due a minute later.
	if hasQgroup(t, fs, orphanQgroup) {
		if !sw.Next.Equal(now.Add(time.Minute)) {
			t.Fatalf("qgroup %s still there and the next sweep is due %v, want in a minute", orphanQgroup, sw.Next)
		}
		// A commit wakes the cleaner (else it waits for the 30 s commit).
		for _, args := range [][]string{{"filesystem", "sync", fs}, {"subvolume", "sync", fs}} {
			if out, err := exec.Command("btrfs", args...).CombinedOutput(); err != nil {
				t.Fatalf("btrfs %v: %v: %s", args, err, out)
			}
		}
		sweep("web@1.service")
		if hasQgroup(t, fs, orphanQgroup) {
			t.Errorf("qgroup %s of the removed snapshot is still there", orphanQgroup)
		}
	}

	// web@1 fails twice; only its last failed snapshot is kept.
	now = now.Add(time.Minute)
	first, err := rt.Cleanup(ctx, "web@1.service", true)
	if err != nil || first == "" {
		t.Fatalf("Cleanup failed unit: %q, %v", first, err)
	}
	now = now.Add(time.Minute)
	prepare("web@1.service")
	if _, err := rt.Cleanup(ctx, "web@1.service", true); err != nil {
		t.Fatal(err)
	}
	ended := now
	now = now.Add(time.Minute)
	sw = sweep()
	if len(sw.Failed) != 1 || !strings.HasPrefix(first, filepath.Join(s.Root(), "failed", sw.Failed[0])) {
		t.Fatalf("swept failed %v, want the first kept snapshot %s", sw.Failed, first)
	}
	if len(sw.Images)+len(sw.Layers) != 0 || sw.Next.After(ended.Add(30*time.Minute)) {
		t.Fatalf("within the grace: removed %v, next %v; want nothing, next %v", sw.Items(), sw.Next, ended.Add(30*time.Minute))
	}

	// Past the grace: the image and both its layers go.
	now = ended.Add(30 * time.Minute)
	sw = sweep()
	if !slices.Equal(sw.Images, []string{"web:1"}) || len(sw.Layers) != 2 || !slices.Contains(sw.Layers, base) || !slices.Contains(sw.Layers, app) {
		t.Fatalf("past the grace removed %v, want web:1 and its two layers", sw.Items())
	}
	if ls, _ := s.Layers(ctx); len(ls) != 0 {
		t.Fatalf("layers left: %v", ls)
	}
	kept, _ := s.Failed(ctx)
	if len(kept) != 1 || sw.Next.After(kept[0].At.Add(24*time.Hour)) {
		t.Fatalf("failed kept %v, next %v: want one, due a day after it was kept", kept, sw.Next)
	}

	// A day later the failed snapshot goes too, and nothing is due but
	// clearing the qgroups the kernel was still cleaning.
	now = kept[0].At.Add(24 * time.Hour)
	sw = sweep()
	if len(sw.Failed) != 1 || sw.Next.After(now.Add(time.Minute)) {
		t.Fatalf("a day later removed %v, next %v", sw.Items(), sw.Next)
	}
	if kept, _ := s.Failed(ctx); len(kept) != 0 {
		t.Fatalf("failed left: %v", kept)
	}
	// The volumes stay: they are data, removed only by an operator.
	if vs, err := v.List(ctx); err != nil || len(vs) != 2 {
		t.Fatalf("volumes after sweeping: %v, %v; want data-1 and data-2", vs, err)
	}
}

// qgroupOf is the level-0 qgroup of the subvolume at path.
func qgroupOf(t *testing.T, path string) string {
	t.Helper()
	q, err := quota.Show(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	return q.ID
}

func hasQgroup(t *testing.T, mnt, id string) bool {
	t.Helper()
	out, err := exec.Command("btrfs", "qgroup", "show", mnt).CombinedOutput()
	if err != nil {
		t.Fatalf("btrfs qgroup show: %v: %s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == id {
			return true
		}
	}
	return false
}
