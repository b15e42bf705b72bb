package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flota-dev/flota/agent/runtime"
)

var (
	baseOnce sync.Once
	baseErr  error
)

// baseImage builds base:1 from images/base.flota (debootstrap: a Debian
// with systemd; ~35 s the first time, cached in the pool's store after)
// and exports it for the machines.
func (c *cluster) baseImage(t *testing.T) {
	t.Helper()
	baseOnce.Do(func() {
		store := filepath.Join(harnessDir(), "mnt", "e2e-image-store")
		if baseErr = os.MkdirAll(store, 0o755); baseErr != nil {
			return
		}
		tool := filepath.Join(c.bin, "flota-image")
		spec := filepath.Join(repo, "images", "base.flota")
		if out, err := exec.Command(tool, "build", "--store", store, spec).CombinedOutput(); err != nil {
			baseErr = fmt.Errorf("flota-image build %s: %v\n%s", spec, err, out)
			return
		}
		dst := filepath.Join(exportDir(), "base_1")
		if baseErr = os.RemoveAll(dst); baseErr != nil {
			return
		}
		if out, err := exec.Command(tool, "export", "--store", store, "base:1", dst).CombinedOutput(); err != nil {
			baseErr = fmt.Errorf("flota-image export: %v\n%s", err, out)
		}
	})
	if baseErr != nil {
		t.Fatalf("image base:1: %v", baseErr)
	}
}

// bootUnit boots base:1's own systemd; Type=notify makes the unit active
// when that systemd says it is ready (systemd-nspawn --notify-ready=yes).
const bootUnit = `[Unit]
Description=a booted Debian container

[Service]
Type=notify

[X-Container]
Image=base:1
Boot=yes
Network=private
`

// TestContainerBoot: Boot=yes boots a real Debian image's systemd in the
// task snapshot; the unit is active when it is ready; stopping the unit
// shuts the container's system down cleanly; destroy leaves no snapshot.
func TestContainerBoot(t *testing.T) {
	c := up(t)
	c.baseImage(t)
	c.destroyAtEnd(t, "os-ctr.service")
	t0 := time.Now()
	c.must(t, "start", writeUnit(t, t.TempDir(), "os-ctr.service", bootUnit))
	at := c.activeOn(t, "os-ctr.service", 2*time.Minute)
	m := c.machineName(t, at.ip)
	journal := func() string {
		return c.exec(t, m, "journalctl", "-u", "os-ctr.service", "--no-pager", "-o", "cat")
	}
	// Active under Type=notify means the container's systemd said READY=1,
	// which it does once its boot transaction is done.
	if j := journal(); !strings.Contains(j, "Reached target multi-user.target") {
		t.Fatalf("os-ctr.service active on %s without the container reaching multi-user.target:\n%s", m, j)
	}
	t.Logf("os-ctr.service on %s: booted and ready %v after flotactl start (a 195 MB image pulled over HTTP included)",
		m, time.Since(t0).Round(10*time.Millisecond))
	pid := strings.TrimPrefix(strings.TrimSpace(c.exec(t, m, "systemctl", "show", "-p", "MainPID", "os-ctr.service")), "MainPID=")
	// The container's PID 1 is a child of systemd-nspawn: systemd.
	init := strings.TrimSpace(c.exec(t, m, "sh", "-c", "cat /proc/$(cat /proc/"+pid+"/task/"+pid+"/children | cut -d' ' -f1)/comm"))
	if init != "systemd" {
		t.Fatalf("os-ctr.service's container runs %q as its init, want systemd", init)
	}

	c.must(t, "stop", "os-ctr.service")
	eventually(t, time.Minute, "os-ctr.service stopped cleanly", func() (bool, string) {
		out := c.exec(t, m, "systemctl", "show", "-p", "ActiveState,Result", "os-ctr.service")
		return strings.Contains(out, "ActiveState=inactive") && strings.Contains(out, "Result=success"), out
	})
	if j := journal(); !strings.Contains(j, "Halting system") && !strings.Contains(j, "Powering off") {
		t.Fatalf("os-ctr.service stopped without the container shutting down:\n%s", j)
	}
	c.must(t, "destroy", "os-ctr.service")
	snap := "/var/lib/flota/images/tasks/" + runtime.Key("os-ctr.service")
	eventually(t, 30*time.Second, "no snapshot of os-ctr.service after destroy", func() (bool, string) {
		_, err := c.harness("exec", m, "test", "!", "-e", snap)
		return err == nil, c.tasks(t, m)
	})
}
