package e2e

import (
	"context"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/flota-dev/flota/registry"
)

// monoNow is the host's CLOCK_MONOTONIC in µs: the machines share the host's
// kernel, so systemd's *TimestampMonotonic in every machine reads the same
// clock, and copies on two machines can be compared to the microsecond.
func monoNow(t *testing.T) int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		t.Fatal(err)
	}
	return ts.Nano() / 1000
}

// mono reads a *TimestampMonotonic property of a unit on a machine (µs; 0
// when it never happened).
func (c *cluster) mono(t *testing.T, machine, unit, prop string) int64 {
	t.Helper()
	v := c.exec(t, machine, "systemctl", "show", "-p", prop, "--value", unit)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		t.Fatalf("%s of %s on %s: %q", prop, unit, machine, v)
	}
	return n
}

// stoppedAt is when systemd on machine last finished a stop job of unit,
// from its journal (µs of CLOCK_MONOTONIC; 0 if never): systemd forgets a
// stopped unit's timestamps when it unloads the unit, its journal does not.
func (c *cluster) stoppedAt(t *testing.T, machine, unit string) int64 {
	t.Helper()
	out := c.exec(t, machine, "journalctl", "--no-pager", "-o", "json", "--output-fields=__MONOTONIC_TIMESTAMP,JOB_RESULT",
		"_PID=1", "UNIT="+unit, "JOB_TYPE=stop")
	var last int64
	for _, line := range strings.Split(out, "\n") {
		var e struct {
			Mono   string `json:"__MONOTONIC_TIMESTAMP"`
			Result string `json:"JOB_RESULT"`
		}
		if json.Unmarshal([]byte(line), &e) != nil || e.Result != "done" {
			continue
		}
		if n, err := strconv.ParseInt(e.Mono, 10, 64); err == nil && n > last {
			last = n
		}
	}
	return last
}

// cutFor is how long TestPartition keeps the machine cut off; FLOTA_E2E_CUT
// (a Go duration) measures other lengths.
func cutFor(t *testing.T) time.Duration {
	if v := os.Getenv("FLOTA_E2E_CUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("FLOTA_E2E_CUT: %v", err)
		}
		return d
	}
	return 12 * time.Second
}

// TestPartition cuts one machine's link for longer than its lease, with
// three units on it:
//   - st@1 (Conflicts=st@*, so it stops on disconnect): its machine stops
//     it before the lease ends, and its replacement starts only after: the
//     two copies never overlap;
//   - keep@1 (OnDisconnect=keep, following st@1 with MachineOf=): it runs
//     through the partition while its replacement runs too, by choice, and
//     its stale copy stops within seconds of the link's return;
//   - pin (MachineID= the cut machine, so it has nowhere else to go): it
//     stays placed there, runs through, and is not restarted on return.
func TestPartition(t *testing.T) {
	c := up(t)
	units := []string{"keep@1.service", "pin.service", "st@1.service"}
	c.destroyAtEnd(t, units...)
	c.must(t, "start", unitFile(t, "st@1.service", sleeper+"\n[X-Fleet]\nConflicts=st@*\n"))
	at := c.activeOn(t, "st@1.service", 15*time.Second)
	m := c.machineName(t, at.ip)
	c.must(t, "start", unitFile(t, "keep@1.service", sleeper+"\n[X-Fleet]\nMachineOf=st@1.service\nOnDisconnect=keep\n"),
		unitFile(t, "pin.service", sleeper+"\n[X-Fleet]\nMachineID="+at.machine+"\n"))
	for _, u := range units[:2] {
		if r := c.activeOn(t, u, 15*time.Second); r.machine != at.machine {
			t.Fatalf("%s on %s, want %s with st@1", u, r.machine, at.machine)
		}
	}
	pinPID := c.exec(t, m, "systemctl", "show", "-p", "MainPID", "--value", "pin.service")
	t.Cleanup(func() { c.harness("mend", m) })

	cut := monoNow(t)
	if _, err := c.harness("cut", m); err != nil {
		t.Fatal(err)
	}
	var x string // where st@1 goes
	eventually(t, leaseTTL+20*time.Second, "st@1 and keep@1 active on another machine", func() (bool, string) {
		rows := c.units(t)
		ok := 0
		for _, r := range rows {
			if (r.unit == "st@1.service" || r.unit == "keep@1.service") && r.machine != at.machine && r.active == "active" {
				ok++
				x = c.machineName(t, r.ip)
			}
		}
		return ok == 2, ""
	})
	moved := monoNow(t)
	stopped := c.stoppedAt(t, m, "st@1.service")
	started := c.mono(t, x, "st@1.service", "ExecMainStartTimestampMonotonic")
	if stopped == 0 || stopped < cut {
		t.Fatalf("st@1 on the cut machine %s was not stopped after the cut (InactiveEnter %d, cut %d)", m, stopped, cut)
	}
	overlap := started - stopped
	t.Logf("st@1 (stops on disconnect): stopped on %s %.2f s after the cut, started on %s %.2f s after it: %.2f s apart",
		m, float64(stopped-cut)/1e6, x, float64(started-cut)/1e6, float64(overlap)/1e6)
	if overlap <= 0 {
		t.Fatalf("two copies of st@1 ran at once for %.3f s", -float64(overlap)/1e6)
	}
	if st := c.exec(t, m, "systemctl", "is-active", "keep@1.service"); st != "active" {
		t.Fatalf("keep@1 (OnDisconnect=keep) on the cut machine is %s, want active", st)
	}
	t.Logf("both moved %.2f s after the cut (lease %v)", float64(moved-cut)/1e6, leaseTTL)

	// Keep the link down for the rest of the cut, then bring it back.
	if rest := cutFor(t) - time.Duration(monoNow(t)-cut)*time.Microsecond; rest > 0 {
		time.Sleep(rest) // the partition's length is the point here
	}
	mended := monoNow(t)
	if _, err := c.harness("mend", m); err != nil {
		t.Fatal(err)
	}
	reg, err := registry.Connect(registry.Config{Endpoints: c.endpoints})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	var back int64
	eventually(t, 15*time.Second, m+" registered again", func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		ms, _ := reg.Machines(ctx)
		for _, mm := range ms {
			if mm.ID == at.machine {
				back = monoNow(t)
				return true, ""
			}
		}
		return false, ""
	})
	eventually(t, 15*time.Second, "keep@1's stale copy on "+m+" stopped", func() (bool, string) {
		st, _ := c.harness("exec", m, "systemctl", "is-active", "keep@1.service")
		return strings.TrimSpace(st) != "active", st
	})
	staleStop := c.stoppedAt(t, m, "keep@1.service")
	t.Logf("cut for %.1f s; after the link came back: registered again in %.2f s, keep@1's stale copy stopped in %.2f s",
		float64(mended-cut)/1e6, float64(back-mended)/1e6, float64(staleStop-mended)/1e6)
	if d := time.Duration(staleStop-mended) * time.Microsecond; d > 3*time.Second {
		t.Errorf("the stale copy stopped %v after the link came back, want within 2-3 s", d)
	}
	if st, _ := c.harness("exec", m, "systemctl", "is-active", "st@1.service"); strings.TrimSpace(st) == "active" {
		t.Errorf("st@1 runs again on %s, which it left", m)
	}
	// pin had nowhere to go: still placed, never restarted.
	if r := c.activeOn(t, "pin.service", 10*time.Second); r.machine != at.machine {
		t.Fatalf("pin.service on %s, want %s", r.machine, at.machine)
	}
	if now := c.exec(t, m, "systemctl", "show", "-p", "MainPID", "--value", "pin.service"); now != pinPID {
		t.Fatalf("pin.service was restarted: main PID %s, then %s", pinPID, now)
	}
}
