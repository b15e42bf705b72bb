package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// row is one line of `flotactl list-units --full`.
type row struct {
	unit, machine, ip, active, sub string
}

// units reads list-units with full machine IDs.
func (c *cluster) units(t *testing.T) []row {
	t.Helper()
	r := c.must(t, "list-units", "--full", "--no-legend", "--fields=unit,machine,active,sub")
	var out []row
	for _, line := range strings.Split(strings.TrimSpace(r.out), "\n") {
		f := strings.Fields(line)
		if len(f) != 4 {
			continue
		}
		id, ip, _ := strings.Cut(f[1], "/")
		out = append(out, row{unit: f[0], machine: id, ip: ip, active: f[2], sub: f[3]})
	}
	return out
}

// where lists the rows of one unit.
func (c *cluster) where(t *testing.T, unit string) []row {
	var out []row
	for _, r := range c.units(t) {
		if r.unit == unit {
			out = append(out, r)
		}
	}
	return out
}

// activeOn waits until unit runs on exactly one machine and returns it.
func (c *cluster) activeOn(t *testing.T, unit string, limit time.Duration) row {
	t.Helper()
	var got row
	eventually(t, limit, unit+" active on one machine", func() (bool, string) {
		rs := c.where(t, unit)
		if len(rs) == 1 && rs[0].active == "active" {
			got = rs[0]
			return true, ""
		}
		return false, fmt.Sprint(rs)
	})
	return got
}

// get asks a web server on a harness machine; "" when it does not answer.
func get(url string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(b))
}

// unitFile writes a unit file for flotactl to submit and returns its path.
func unitFile(t *testing.T, name, text string) string {
	t.Helper()
	return writeUnit(t, t.TempDir(), name, text)
}

func writeUnit(t testing.TB, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// machineName maps a machine's IP to its harness name, from
// `harness/cluster list`.
func (c *cluster) machineName(t *testing.T, ip string) string {
	t.Helper()
	name, out := c.lookupName(ip)
	if name == "" {
		t.Fatalf("no harness machine has IP %s:\n%s", ip, out)
	}
	return name
}

// lookupName is machineName for a machine that may be gone already (its
// rows outlive it until its lease ends): "" then.
func (c *cluster) lookupName(ip string) (string, string) {
	out, _ := c.harness("list")
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		for _, x := range f {
			if x == ip {
				return f[0], out
			}
		}
	}
	return "", out
}

// exec runs a command inside a harness machine.
func (c *cluster) exec(t *testing.T, machine string, args ...string) string {
	t.Helper()
	out, err := c.harness(append([]string{"exec", machine}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(out)
}

// destroy removes units at the end of a test, so tests do not see each
// other's units.
func (c *cluster) destroyAtEnd(t *testing.T, units ...string) {
	t.Cleanup(func() { c.ctl(t, 2*time.Minute, append([]string{"destroy"}, units...)...) })
}

// reasonLine is unit's line of list-unit-files with its target and reason,
// "" while it has none.
func (c *cluster) reasonLine(t *testing.T, unit string) string {
	r := c.ctl(t, 10*time.Second, "list-unit-files", "--no-legend", "--fields=unit,target,reason")
	return lineOf(r.out, unit)
}

// lineOf is the line of out that starts with prefix, or "".
func lineOf(out, prefix string) string {
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, prefix) {
			return line
		}
	}
	return ""
}

// activeName waits until unit runs on exactly one machine and returns that
// machine's harness name.
func (c *cluster) activeName(t *testing.T, unit string, limit time.Duration) string {
	t.Helper()
	return c.machineName(t, c.activeOn(t, unit, limit).ip)
}

// samples lets a test wait for a sampler's next samples: what a restart in
// vain or a second copy would show in.
type samples struct {
	mu   sync.Mutex
	next chan struct{} // closed at the next sample
}

func newSamples() samples { return samples{next: make(chan struct{})} }

// taken marks a sample taken.
func (s *samples) taken() {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.next)
	s.next = make(chan struct{})
}

// await returns once n more samples were taken.
func (s *samples) await(t testing.TB, n int) {
	t.Helper()
	for range n {
		s.mu.Lock()
		next := s.next
		s.mu.Unlock()
		select {
		case <-next:
		case <-time.After(30 * time.Second):
			t.Fatal("the sampler took no sample for 30 s")
		}
	}
}
