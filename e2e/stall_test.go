package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestEtcdStall freezes the host's etcd (SIGSTOP to the host flotad that
// embeds it, by its recorded PID) for longer than the machines' leases.
// Every lease has expired when it resumes, and etcd revokes them all at
// once; the machines register again at once. Nothing may move: a unit that
// keeps on disconnect runs on untouched; one that stops on disconnect is
// stopped by its machine during the stall (it cannot tell an outage of etcd
// from a partition) and starts again on the same machine.
func TestEtcdStall(t *testing.T) {
	c := up(t)
	c.destroyAtEnd(t, "stall-keep.service", "stall-st@1.service")
	c.must(t, "start", unitFile(t, "stall-keep.service", sleeper), unitFile(t, "stall-st@1.service", sleeper+"\n[X-Fleet]\nConflicts=stall-st@*\n"))
	keep := c.activeOn(t, "stall-keep.service", 15*time.Second)
	st := c.activeOn(t, "stall-st@1.service", 15*time.Second)
	keepM, stM := c.machineName(t, keep.ip), c.machineName(t, st.ip)
	keepPID := c.exec(t, keepM, "systemctl", "show", "-p", "MainPID", "--value", "stall-keep.service")

	data, err := os.ReadFile(filepath.Join(harnessDir(), "host", "flotad.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			_ = syscall.Kill(pid, syscall.SIGCONT)
		}
	}
	t.Cleanup(resume)
	stalled := time.Now()
	eventually(t, leaseTTL+5*time.Second, "stall-st@1 stopped by its machine during the stall", func() (bool, string) {
		out, _ := c.harness("exec", stM, "systemctl", "is-active", "stall-st@1.service")
		return strings.TrimSpace(out) != "active", out
	})
	stoppedAfter := time.Since(stalled)
	time.Sleep(max(0, 3*leaseTTL-time.Since(stalled))) // the stall's length is the point here
	resume()
	back := time.Now()
	eventually(t, 30*time.Second, "stall-st@1 running again on "+stM, func() (bool, string) {
		out, _ := c.harness("exec", stM, "systemctl", "is-active", "stall-st@1.service")
		return strings.TrimSpace(out) == "active", out
	})
	again := time.Since(back)
	// A wrong move would show within a lease and a hold.
	time.Sleep(2*leaseTTL + 2*time.Second)
	for _, want := range []struct {
		u string
		r row
	}{{"stall-keep.service", keep}, {"stall-st@1.service", st}} {
		got := c.activeOn(t, want.u, 30*time.Second)
		if got.machine != want.r.machine {
			t.Errorf("%s moved from %s to %s across the stall", want.u, want.r.machine, got.machine)
		}
	}
	for i := 1; i <= machines; i++ {
		if m := fmt.Sprintf("flota-m%d", i); m != stM {
			if out, _ := c.harness("exec", m, "systemctl", "is-active", "stall-st@1.service"); strings.TrimSpace(out) == "active" {
				t.Errorf("stall-st@1 runs on %s too", m)
			}
		}
	}
	t.Logf("etcd stalled %v: stall-st@1 stopped %v into it, and ran again on its machine %v after etcd resumed; nothing moved",
		back.Sub(stalled).Round(100*time.Millisecond), stoppedAfter.Round(100*time.Millisecond), again.Round(100*time.Millisecond))
	if now := c.exec(t, keepM, "systemctl", "show", "-p", "MainPID", "--value", "stall-keep.service"); now != keepPID {
		t.Errorf("stall-keep.service was restarted across the stall: main PID %s, then %s", keepPID, now)
	}
}
