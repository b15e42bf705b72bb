package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestMetadataExpressions: MachineMetadata= expressions place units on the
// harness machines (metadata zone=dmz,rack=rN for flota-mN) by regular
// expression and inequality, and a unit none satisfies waits with the
// expression in its reason.
func TestMetadataExpressions(t *testing.T) {
	c := up(t)
	c.destroyAtEnd(t, "expr.service", "expr-none.service")
	c.must(t, "start", unitFile(t, "expr.service", sleeper+"\n[X-Fleet]\nMachineMetadata=\"rack=~^r[23]$\" \"rack!=r3\" \"zone=*\"\n"))
	at := c.activeOn(t, "expr.service", 15*time.Second)
	if m := c.machineName(t, at.ip); m != "flota-m2" {
		t.Fatalf("expr.service (rack=~^r[23]$, rack!=r3) on %s, want flota-m2", m)
	}
	c.must(t, "start", "--no-block", unitFile(t, "expr-none.service", sleeper+"\n[X-Fleet]\nMachineMetadata=cpus>=64\n"))
	eventually(t, 15*time.Second, "expr-none.service explained", func() (bool, string) {
		line := c.reasonLine(t, "expr-none.service")
		return strings.Contains(line, `MachineMetadata "cpus>=64" filtered 3 machines`), line
	})
}
