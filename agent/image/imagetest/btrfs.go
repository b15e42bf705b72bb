// Package imagetest gives tests of the image store a real BTRFS
// filesystem: the store shells out to btrfs(8), and a fake would test
// nothing of that.
package imagetest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Size of the filesystem NewFS makes; sparse, so it costs what is written.
const Size = 512 << 20

// NewFS makes a fresh BTRFS filesystem in a loop-mounted sparse file under
// t.TempDir() and returns its mount point; it is unmounted and its loop
// device detached at cleanup. It needs root, the btrfs module and
// btrfs-progs; without them it skips, except under CI=true, where a skip
// would hide that the store is untested: there it fails.
func NewFS(t testing.TB) string {
	t.Helper()
	if why := missing(); why != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but this machine cannot run the BTRFS tests: %s", why)
		}
		t.Skipf("no BTRFS test filesystem: %s", why)
	}
	dir := t.TempDir()
	img := filepath.Join(dir, "fs.img")
	f, err := os.Create(img)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(Size); err != nil {
		t.Fatal(err)
	}
	f.Close()
	dev := strings.TrimSpace(run(t, "losetup", "--find", "--show", img))
	// Cleanups run last first: unmount, then detach this device (never
	// another: the machine may have loop devices of its own).
	t.Cleanup(func() { run(t, "losetup", "-d", dev) })
	run(t, "mkfs.btrfs", "-q", dev)
	mnt := filepath.Join(dir, "mnt")
	if err := os.Mkdir(mnt, 0o700); err != nil {
		t.Fatal(err)
	}
	run(t, "mount", "-t", "btrfs", dev, mnt)
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", mnt, err, out)
			exec.Command("umount", "-l", mnt).Run()
		}
	})
	return mnt
}

// missing says what this machine lacks to make a BTRFS filesystem, or "".
func missing() string {
	if os.Geteuid() != 0 {
		return "needs root (losetup, mount)"
	}
	for _, tool := range []string{"btrfs", "mkfs.btrfs", "losetup", "mount", "umount"} {
		if _, err := exec.LookPath(tool); err != nil {
			return tool + " not found (apt-get install btrfs-progs util-linux mount)"
		}
	}
	fss, err := os.ReadFile("/proc/filesystems")
	if err == nil && !bytes.Contains(fss, []byte("\tbtrfs\n")) {
		if exec.Command("modprobe", "btrfs").Run() != nil {
			return "the kernel has no btrfs (modprobe btrfs failed)"
		}
	}
	if _, err := os.Stat("/dev/loop-control"); err != nil {
		return "no loop devices (/dev/loop-control)"
	}
	return ""
}

func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	var out, stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, stderr.String())
	}
	return out.String()
}
