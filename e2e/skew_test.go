package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestSkewAndTargets: MaxSkew= and SpreadTarget= on the harness's 2 pods of
// 3 machines (flota-m1 and flota-m2 in pod a, flota-m3 in pod b; see
// plainMetadata). A blocker on flota-m3 that the units conflict with keeps
// them out of pod b: a waiting skew then leaves the second instance
// unplaced with its reason, until the blocker goes; one placing anyway
// places both in pod a and notes it. Shares of 75/25 put 3 of 4 in pod a.
func TestSkewAndTargets(t *testing.T) {
	c := up(t)
	units := []string{"skb.service", "skw@1.service", "skw@2.service", "ska@1.service", "ska@2.service"}
	for i := 1; i <= 4; i++ {
		units = append(units, fmt.Sprintf("stg@%d.service", i))
	}
	c.destroyAtEnd(t, append(units, "skw@.service", "ska@.service", "stg@.service")...)
	pods := c.metadataOf(t, "pod")
	podOf := func(u string) string { t.Helper(); return pods[c.activeOn(t, u, 15*time.Second).machine] }

	c.must(t, "submit", unitFile(t, "skb.service", sleeper+"\n[X-Fleet]\nMachineMetadata=pod=b\n"))
	c.must(t, "start", "skb")
	c.activeOn(t, "skb.service", 15*time.Second)

	c.must(t, "submit", unitFile(t, "skw@.service", sleeper+"\n[X-Fleet]\nMaxSkew=pod:1\nMachineMetadata=pod=*\nConflicts=skb.service\n"))
	c.must(t, "start", "--no-block", "skw@1", "skw@2")
	if p := podOf("skw@1.service"); p != "a" {
		t.Fatalf("skw@1 in pod %q, want a (pod b has the blocker)", p)
	}
	eventually(t, 15*time.Second, "skw@2 waiting on the skew", func() (bool, string) {
		line := c.reasonLine(t, "skw@2.service")
		return strings.Contains(line, `MaxSkew "pod:1" filtered 2 machines`) && strings.Contains(line, `Conflicts "skb.service" filtered 1 machine`), line
	})

	c.must(t, "submit", unitFile(t, "ska@.service", sleeper+"\n[X-Fleet]\nMaxSkew=pod:1:anyway\nMachineMetadata=pod=*\nConflicts=skb.service\n"))
	c.must(t, "start", "ska@1", "ska@2")
	for _, u := range []string{"ska@1.service", "ska@2.service"} {
		if p := podOf(u); p != "a" {
			t.Fatalf("%s in pod %q, want a", u, p)
		}
	}
	r := c.ctl(t, 10*time.Second, "list-unit-files", "--no-legend", "--fields=unit,notes")
	for _, u := range []string{"ska@1.service", "ska@2.service"} {
		if line := lineOf(r.out, u); !strings.Contains(line, `MaxSkew "pod:1:anyway": pod=a is above the skew`) {
			t.Errorf("%s: notes line %q", u, line)
		}
	}

	// The blocker goes: the waiting instance takes pod b.
	c.must(t, "destroy", "skb.service")
	if p := podOf("skw@2.service"); p != "b" {
		t.Fatalf("skw@2 in pod %q once pod b is free, want b", p)
	}

	c.must(t, "submit", unitFile(t, "stg@.service", sleeper+"\n[X-Fleet]\nSpreadBy=pod\nSpreadTarget=pod=a:75\nMachineMetadata=pod=*\n"))
	c.must(t, "start", "stg@1", "stg@2", "stg@3", "stg@4")
	n := map[string]int{}
	for i := 1; i <= 4; i++ {
		n[podOf(fmt.Sprintf("stg@%d.service", i))]++
	}
	if n["a"] != 3 || n["b"] != 1 {
		t.Fatalf("stg@1..4 (SpreadTarget=pod=a:75) per pod %v, want 3 in a and 1 in b", n)
	}
}
