package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/flota-dev/flota/registry"
)

const sleeper = `[Unit]
Description=A long-running unit

[Service]
ExecStart=/bin/sleep infinity
`

// leaseTTL is the machines' lease (ttl above): a dead machine's units must
// run elsewhere within it plus a few seconds.
const leaseTTL = 5 * time.Second

// TestKilledMachineUnitsMove: a machine crashes (SIGKILL to its PID 1); its
// units run on another machine within the lease TTL plus a few seconds: a
// unit that keeps on disconnect as soon as the lease ends, one that stops on
// disconnect a margin later. The machine is not the engine leader's (a
// leader's own crash adds its takeover and a new leader's hold: see
// TestEngineLeaderKilled).
func TestKilledMachineUnitsMove(t *testing.T) {
	c := up(t)
	lead := c.leaderMachine(t)
	var racks []string
	for i := 1; i <= machines; i++ {
		if name := fmt.Sprintf("flota-m%d", i); name != lead {
			racks = append(racks, fmt.Sprintf(`"rack=r%d"`, i))
		}
	}
	c.destroyAtEnd(t, "crash.service", "crash-st@1.service")
	c.must(t, "start", unitFile(t, "crash.service", sleeper+"\n[X-Fleet]\nMachineMetadata="+strings.Join(racks, " ")+"\n"),
		unitFile(t, "crash-st@1.service", sleeper+"\n[X-Fleet]\nMachineOf=crash.service\nConflicts=crash-st@*\n"))
	from := c.activeOn(t, "crash.service", 10*time.Second)
	c.activeOn(t, "crash-st@1.service", 10*time.Second)
	victim := c.machineName(t, from.ip)
	t.Cleanup(func() { c.harness("start", victim) })

	killed := time.Now()
	if _, err := c.harness("kill", victim); err != nil {
		t.Fatal(err)
	}
	took := map[string]time.Duration{}
	eventually(t, leaseTTL+15*time.Second, "both units active elsewhere", func() (bool, string) {
		for _, r := range c.units(t) {
			if _, seen := took[r.unit]; !seen && r.machine != from.machine && r.active == "active" &&
				(r.unit == "crash.service" || r.unit == "crash-st@1.service") {
				took[r.unit] = time.Since(killed)
			}
		}
		return len(took) == 2, fmt.Sprint(took)
	})
	keep, stop := took["crash.service"], took["crash-st@1.service"]
	t.Logf("%s killed: active elsewhere after %v (keeps on disconnect) and %v (stops on disconnect); lease %v",
		victim, keep.Round(100*time.Millisecond), stop.Round(100*time.Millisecond), leaseTTL)
	if keep > leaseTTL+3*time.Second {
		t.Errorf("rescheduling took %v, more than the lease (%v) plus 3 s", keep, leaseTTL)
	}
	if stop > leaseTTL+4*time.Second {
		t.Errorf("rescheduling a unit that stops on disconnect took %v, more than the lease (%v) plus its margin and 3 s", stop, leaseTTL)
	}
}

// leaderMachine names the harness machine whose engine leads.
func (c *cluster) leaderMachine(t *testing.T) string {
	t.Helper()
	reg, err := registry.Connect(registry.Config{Endpoints: c.endpoints})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	var id string
	eventually(t, 20*time.Second, "an engine leads", func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		id, _ = reg.Leader(ctx)
		return id != "", ""
	})
	ms, err := reg.Machines(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.ID == id {
			return c.machineName(t, m.IP)
		}
	}
	t.Fatalf("the leader %s is not a registered machine", id)
	return ""
}

// TestRestartedFlotadLeavesUnitsRunning: restarting flotad on a machine
// (fleet stopped every unit then) leaves its unit's process alone.
func TestRestartedFlotadLeavesUnitsRunning(t *testing.T) {
	c := up(t)
	c.destroyAtEnd(t, "steady.service")
	c.must(t, "start", unitFile(t, "steady.service", sleeper))
	at := c.activeOn(t, "steady.service", 10*time.Second)
	m := c.machineName(t, at.ip)
	pid := c.exec(t, m, "systemctl", "show", "-p", "MainPID", "--value", "steady.service")
	if pid == "" || pid == "0" {
		t.Fatalf("no main PID for steady.service on %s", m)
	}
	c.exec(t, m, "systemctl", "restart", "flotad.service")
	// Give the new flotad time to register and reconcile, then look again.
	eventually(t, 20*time.Second, "flotad active again on "+m, func() (bool, string) {
		out, _ := c.harness("exec", m, "systemctl", "is-active", "flotad.service")
		return strings.TrimSpace(out) == "active", out
	})
	time.Sleep(3 * time.Second)
	after := c.exec(t, m, "systemctl", "show", "-p", "MainPID", "--value", "steady.service")
	if after != pid {
		t.Fatalf("steady.service's main PID went from %s to %s across a flotad restart", pid, after)
	}
	if again := c.activeOn(t, "steady.service", 10*time.Second); again.machine != at.machine {
		t.Fatalf("steady.service moved from %s to %s", at.machine, again.machine)
	}
}

// TestEngineLeaderKilled: the machine whose engine leads crashes; another
// machine's engine takes over, and units started afterwards are placed.
func TestEngineLeaderKilled(t *testing.T) {
	c := up(t)
	reg, err := registry.Connect(registry.Config{Endpoints: c.endpoints})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	leader := func() string {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		id, _ := reg.Leader(ctx)
		return id
	}
	var first string
	eventually(t, 20*time.Second, "an engine leads", func() (bool, string) { first = leader(); return first != "", "" })
	ms, err := reg.Machines(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var victim string
	for _, m := range ms {
		if m.ID == first {
			victim = c.machineName(t, m.IP)
		}
	}
	if victim == "" {
		t.Fatalf("the leader %s is not a registered machine", first)
	}
	t.Cleanup(func() { c.harness("start", victim) })
	killed := time.Now()
	if _, err := c.harness("kill", victim); err != nil {
		t.Fatal(err)
	}
	eventually(t, leaseTTL+15*time.Second, "another engine leads", func() (bool, string) {
		now := leader()
		return now != "" && now != first, now
	})
	took := time.Since(killed)
	t.Logf("engine leader %s killed: another engine leads after %v (engine lease %v)", victim, took.Round(100*time.Millisecond), leaseTTL)
	if took > leaseTTL+3*time.Second {
		t.Errorf("takeover took %v, more than the engine lease (%v) plus 3 s", took, leaseTTL)
	}
	c.destroyAtEnd(t, "after-failover.service")
	c.must(t, "start", unitFile(t, "after-failover.service", sleeper))
	if at := c.activeOn(t, "after-failover.service", 15*time.Second); at.machine == first {
		t.Fatalf("placed on the dead machine %s", first)
	}
}
