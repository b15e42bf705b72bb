package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flota-dev/flota/agent/task"
)

// TestExecAndMachined: flotactl exec runs a command in a container unit's
// container (its hostname, its PID 1, its root: the image's files) and on a
// plain unit's machine, with the command's exit status and, with -t, a
// terminal; flotactl shell opens a shell there; and the container is
// registered with systemd-machined under its name, so machinectl on the
// machine sees it and its unit.
func TestExecAndMachined(t *testing.T) {
	c := up(t)
	c.webImage(t)
	dir := t.TempDir()
	ctr := strings.NewReplacer("-p 8090", "-p 8091", "Conflicts=web-ctr@*\n", "").Replace(webUnit)
	writeUnit(t, dir, "exec-ctr.service", ctr)
	c.destroyAtEnd(t, "exec-ctr.service", "exec-plain.service")
	c.must(t, "start", filepath.Join(dir, "exec-ctr.service"), unitFile(t, "exec-plain.service", sleeper))
	at := c.activeOn(t, "exec-ctr.service", time.Minute)
	plainAt := c.activeOn(t, "exec-plain.service", 30*time.Second)
	name := task.MachineName("exec-ctr.service")

	for _, tt := range []struct {
		name string
		args []string
		code int
		want string // stdout, whole; after "~", a part of it
	}{
		{"a plain unit's command runs on its machine", []string{"exec", "exec-plain.service", "cat", "/etc/machine-id"}, 0, plainAt.machine + "\n"},
		{"a container's hostname is its machined name", []string{"exec", "exec-ctr.service", "cat", "/proc/sys/kernel/hostname"}, 0, name + "\n"},
		{"its PID 1 is the unit's program", []string{"exec", "exec-ctr.service", "sh", "-c", "tr '\\0' ' ' </proc/1/cmdline"}, 0, "/usr/bin/busybox httpd -f -p 8091 -h /usr/share/www "},
		{"its root is the image's", []string{"exec", "exec-ctr.service", "ls", "/usr/share/www"}, 0, "index.html\n"},
		{"the command's exit status", []string{"exec", "exec-ctr.service", "--", "sh", "-c", "exit 5"}, 5, ""},
		// A terminal of the container's own devpts: its name is a device there.
		{"a terminal with -t", []string{"exec", "-t", "exec-ctr.service", "sh", "-c", `p=$(ls -l /proc/self/fd/0); p=${p##*-> }; test -c "$p" && echo "$p is here"`}, 0, "~/dev/pts/"},
		{"its name a device there", []string{"exec", "-t", "exec-ctr.service", "sh", "-c", `p=$(ls -l /proc/self/fd/0); p=${p##*-> }; test -c "$p" && echo "$p is here"`}, 0, "~ is here\r\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := c.ctl(t, 30*time.Second, tt.args...)
			part, ok := strings.CutPrefix(tt.want, "~")
			if r.code != tt.code || (ok && !strings.Contains(r.out, part)) || (!ok && r.out != tt.want) {
				t.Errorf("flotactl %s: exit %d, stdout %q, stderr %q; want %d, %q", strings.Join(tt.args, " "), r.code, r.out, r.errOut, tt.code, tt.want)
			}
		})
	}
	t.Run("shell", func(t *testing.T) {
		// Its commands from stdin, here not a terminal: typed, as it were.
		r := c.ctlIn(t, 30*time.Second, "echo in-$((6*7)); exit 3\n", "shell", "exec-ctr.service")
		if r.code != 3 || !strings.Contains(r.out, "in-42") {
			t.Errorf("flotactl shell: exit %d, stdout %q, stderr %q; want 3 and in-42", r.code, r.out, r.errOut)
		}
	})
	t.Run("machinectl sees the container", func(t *testing.T) {
		m := c.machineName(t, at.ip)
		list := c.exec(t, m, "machinectl", "list", "--no-legend", "--no-pager")
		if !strings.Contains(list, name+" container systemd-nspawn") {
			t.Errorf("machinectl list on %s:\n%s", m, list)
		}
		status := c.exec(t, m, "machinectl", "status", "--no-pager", name)
		if !strings.Contains(status, "Unit: exec-ctr.service") {
			t.Errorf("machinectl status %s on %s does not name the unit:\n%s", name, m, status)
		}
	})
}
