package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDebPackage: make deb builds a package that installs on a harness
// machine as the README says: flotad, flotactl and flota-image in
// /usr/bin, flotad.service (Type=notify) that systemd accepts, the default
// config and the man pages; flotad run as a notify service is started
// once its agent registered; the package removes cleanly.
func TestDebPackage(t *testing.T) {
	c := up(t)
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI must build the package, but there is no dpkg-deb: %v", err)
		}
		t.Skip("no dpkg-deb on this machine")
	}
	bin := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	mk := exec.CommandContext(ctx, "make", "-C", repo, "deb", "BIN="+bin, "VERSION=0.0.1-e2e")
	if out, err := mk.CombinedOutput(); err != nil {
		t.Fatalf("make deb: %v\n%s", err, out)
	}
	deb := filepath.Join(bin, "flota_0.0.1-e2e_"+debArch(t)+".deb")
	data, err := os.ReadFile(deb)
	if err != nil {
		t.Fatal(err)
	}
	const m = "flota-m3"
	// Into the machine on stdin, as there is no shared directory.
	cp := exec.CommandContext(ctx, filepath.Join(repo, "harness", "cluster"), "exec", m, "sh", "-c", "cat >/tmp/flota.deb")
	cp.Stdin = bytes.NewReader(data)
	if out, err := cp.CombinedOutput(); err != nil {
		t.Fatalf("copy the package into %s: %v\n%s", m, err, out)
	}
	t.Cleanup(func() {
		_, _ = c.harness("exec", m, "sh", "-c", "systemctl stop flota-pkg-test.service; dpkg -r flota; rm -f /tmp/flota.deb")
	})
	c.exec(t, m, "dpkg", "-i", "/tmp/flota.deb")
	if v := c.exec(t, m, "/usr/bin/flotad", "--version"); v != "flotad version 0.0.1-e2e" {
		t.Errorf("the packaged flotad --version: %q", v)
	}
	if v := c.exec(t, m, "/usr/bin/flotactl", "version"); v != "flotactl version 0.0.1-e2e" {
		t.Errorf("the packaged flotactl version: %q", v)
	}
	for _, f := range []string{"/usr/bin/flota-image", "/etc/flota/flotad.conf", "/usr/share/man/man1/flotactl.1", "/usr/share/man/man8/flotad.8"} {
		if out, err := c.harness("exec", m, "test", "-s", f); err != nil {
			t.Errorf("%s not installed: %v %s", f, err, out)
		}
	}
	if out, err := c.harness("exec", m, "systemd-analyze", "verify", "--man=no", "/lib/systemd/system/flotad.service"); err != nil {
		t.Errorf("systemd refuses the packaged flotad.service: %v\n%s", err, out)
	}
	if typ := c.exec(t, m, "sh", "-c", "grep '^Type=' /lib/systemd/system/flotad.service"); typ != "Type=notify" {
		t.Errorf("flotad.service: %q, want Type=notify", typ)
	}
	// The packaged flotad as a notify service of its own (the machine's
	// flotad.service is the harness's): systemd-run returns once it said
	// READY=1, after its agent registered, under a prefix of its own so
	// the cluster's engine places nothing on it.
	t0 := time.Now()
	run := fmt.Sprintf("systemd-run --unit=flota-pkg-test -p Type=notify -p TimeoutStartSec=60 /usr/bin/flotad --config=/etc/flota/flotad.conf"+
		" --etcd-endpoints=http://10.77.0.1:2379 --etcd-key-prefix=/flota-pkg-test/ --machine-id=%032x --systemd=false --engine=false --agent-api=off --api=off", time.Now().UnixNano())
	if out, err := c.harness("exec", m, "sh", "-c", run); err != nil {
		t.Fatalf("start the packaged flotad as a notify service: %v\n%s", err, out)
	}
	t.Logf("the packaged flotad was ready (READY=1 after its registration) %v after systemd-run", time.Since(t0).Round(time.Millisecond))
	if st := c.exec(t, m, "systemctl", "is-active", "flota-pkg-test.service"); st != "active" {
		t.Errorf("flota-pkg-test.service is %s, want active", st)
	}
	c.exec(t, m, "systemctl", "stop", "flota-pkg-test.service")
	c.exec(t, m, "dpkg", "-r", "flota")
	if out, err := c.harness("exec", m, "test", "!", "-e", "/usr/bin/flotad"); err != nil {
		t.Errorf("dpkg -r left /usr/bin/flotad: %v %s", err, out)
	}
	if !strings.Contains(c.exec(t, m, "sh", "-c", "ls /usr/local/bin"), "flotad") {
		t.Error("the harness's own flotad went with the package")
	}
}

// debArch is the architecture dpkg builds for here.
func debArch(t *testing.T) string {
	out, err := exec.Command("dpkg", "--print-architecture").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}
