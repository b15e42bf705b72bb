package e2e

import (
	"context"
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
// unit runs on another machine within the lease TTL plus a few seconds.
func TestKilledMachineUnitsMove(t *testing.T) {
	c := up(t)
	c.destroyAtEnd(t, "crash.service")
	c.must(t, "start", unitFile(t, "crash.service", sleeper))
	from := c.activeOn(t, "crash.service", 10*time.Second)
	victim := c.machineName(t, from.ip)
	t.Cleanup(func() { c.harness("start", victim) })

	killed := time.Now()
	if _, err := c.harness("kill", victim); err != nil {
		t.Fatal(err)
	}
	var to row
	eventually(t, leaseTTL+15*time.Second, "crash.service active elsewhere", func() (bool, string) {
		for _, r := range c.where(t, "crash.service") {
			if r.machine != from.machine && r.active == "active" {
				to = r
				return true, ""
			}
		}
		return false, ""
	})
	took := time.Since(killed)
	t.Logf("%s killed: crash.service active on %s after %v (lease %v)", victim, c.machineName(t, to.ip), took.Round(100*time.Millisecond), leaseTTL)
	if took > leaseTTL+5*time.Second {
		t.Fatalf("rescheduling took %v, more than the lease (%v) plus 5 s", took, leaseTTL)
	}
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
	reg, err := registry.Connect(registry.Config{Endpoints: []string{"http://127.0.0.1:2379"}})
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
	if _, err := c.harness("kill", victim); err != nil {
		t.Fatal(err)
	}
	eventually(t, leaseTTL+15*time.Second, "another engine leads", func() (bool, string) {
		now := leader()
		return now != "" && now != first, now
	})
	c.destroyAtEnd(t, "after-failover.service")
	c.must(t, "start", unitFile(t, "after-failover.service", sleeper))
	if at := c.activeOn(t, "after-failover.service", 15*time.Second); at.machine == first {
		t.Fatalf("placed on the dead machine %s", first)
	}
}
