package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestUnitFileChanges: the agent loads new units without a daemon-reload,
// so these are the cases where systemd's own rules decide whether a file
// takes effect, on a harness machine's real systemd: a replaced file runs
// its new content, a destroyed unit's file is gone from systemd too, the
// same name placed again with other content runs that content, and a unit
// systemd held as not-found (another unit wants it) is found once its file
// is linked.
//
// TestSecuredCluster runs it on the secured cluster too.
func TestUnitFileChanges(t *testing.T) { unitFileChanges(t, up(t)) }

func unitFileChanges(t *testing.T, c *cluster) {
	c.destroyAtEnd(t, "edit.service", "late.service")
	dir := t.TempDir()
	show := func(m, prop, name string) string {
		return c.exec(t, m, "systemctl", "show", "-p", prop, "--value", name)
	}
	runs := func(m, name, want string) {
		t.Helper()
		eventually(t, 20*time.Second, name+" running "+want+" on "+m, func() (bool, string) {
			exec, active := show(m, "ExecStart", name), show(m, "ActiveState", name)
			return strings.Contains(exec, want) && active == "active", active + " " + exec
		})
		// systemd 252, the harness's: from v255 on, any link sets a flag
		// that makes every unit say yes until the next reload.
		if need := show(m, "NeedDaemonReload", name); need != "no" {
			t.Fatalf("%s on %s: NeedDaemonReload=%s, want no", name, m, need)
		}
	}

	c.must(t, "start", writeUnit(t, dir, "edit.service", "[Service]\nExecStart=/bin/sleep 1001\n"))
	at := c.activeOn(t, "edit.service", 20*time.Second)
	m := c.machineName(t, at.ip)
	runs(m, "edit.service", "sleep 1001")

	t.Run("a replaced file runs its new content", func(t *testing.T) {
		c.must(t, "start", "--replace", writeUnit(t, dir, "edit.service", "[Service]\nExecStart=/bin/sleep 1002\n"))
		runs(m, "edit.service", "sleep 1002")
	})
	t.Run("a destroyed unit is gone from systemd", func(t *testing.T) {
		c.must(t, "destroy", "edit.service")
		eventually(t, 20*time.Second, "edit.service not-found on "+m, func() (bool, string) {
			load := show(m, "LoadState", "edit.service")
			return load == "not-found", load
		})
	})
	t.Run("the same name placed again runs the new content", func(t *testing.T) {
		c.must(t, "start", writeUnit(t, t.TempDir(), "edit.service",
			"[Service]\nExecStart=/bin/sleep 1003\n\n[X-Fleet]\nMachineID="+at.machine+"\n"))
		runs(m, "edit.service", "sleep 1003")
	})
	t.Run("a unit held as not-found is found once its file is linked", func(t *testing.T) {
		// pin.service wants late.service, which has no file yet: systemd
		// holds late.service as not-found for as long as pin.service is
		// loaded.
		c.exec(t, m, "sh", "-c", "printf '[Unit]\\nWants=late.service\\n[Service]\\nExecStart=/bin/sleep infinity\\n' >/run/systemd/system/flota-e2e-pin.service && systemctl daemon-reload && systemctl start flota-e2e-pin.service")
		t.Cleanup(func() {
			_, _ = c.harness("exec", m, "sh", "-c", "systemctl stop flota-e2e-pin.service; rm -f /run/systemd/system/flota-e2e-pin.service; systemctl daemon-reload")
		})
		if load := show(m, "LoadState", "late.service"); load != "not-found" {
			t.Fatalf("late.service is %s before its file, want not-found", load)
		}
		c.must(t, "start", writeUnit(t, t.TempDir(), "late.service",
			"[Service]\nExecStart=/bin/sleep 1004\n\n[X-Fleet]\nMachineID="+at.machine+"\n"))
		runs(m, "late.service", "sleep 1004")
	})
}
