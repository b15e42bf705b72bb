package e2e

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/flota-dev/flota/registry"
)

// TestMachinesOwnUnits: flota units named like units a machine has of its
// own (files flota did not write, in /etc/systemd/system here) never take
// them over. flota-m1 runs sec-own.service and sec-own2.service of its own;
// a flota unit pinned to flota-m1 by that name stays unplaced, saying why;
// one that may go to either machine of pod a runs on flota-m2; the
// machine's own units keep running with their files untouched, no runtime
// link of flota's shadows them, and destroying the flota units stops
// nothing on flota-m1.
//
// TestSecuredCluster runs it on the secured cluster too, where each
// machine publishes what it refuses with its own machine's role.
func TestMachinesOwnUnits(t *testing.T) { machinesOwnUnits(t, up(t)) }

func machinesOwnUnits(t *testing.T, c *cluster) {
	m1 := c.machineID(t, "flota-m1")
	own := []string{"sec-own.service", "sec-own2.service"}
	for _, name := range own {
		c.exec(t, "flota-m1", "sh", "-c", "printf '[Service]\\nExecStart=/bin/sleep 3600\\n' > /etc/systemd/system/"+name)
	}
	t.Cleanup(func() {
		for _, name := range own {
			_, _ = c.harness("exec", "flota-m1", "systemctl", "stop", name)
			_, _ = c.harness("exec", "flota-m1", "rm", "-f", "/etc/systemd/system/"+name)
		}
		_, _ = c.harness("exec", "flota-m1", "systemctl", "daemon-reload")
	})
	c.exec(t, "flota-m1", "systemctl", "daemon-reload")
	pids := map[string]string{}
	for _, name := range own {
		c.exec(t, "flota-m1", "systemctl", "start", name)
		pids[name] = c.mainPID(t, "flota-m1", name)
	}
	untouched := func(when string) {
		t.Helper()
		for _, name := range own {
			if got := c.mainPID(t, "flota-m1", name); got != pids[name] {
				t.Errorf("%s: flota-m1's own %s has main PID %s, was %s", when, name, got, pids[name])
			}
			if got := c.exec(t, "flota-m1", "systemctl", "show", "-p", "FragmentPath", "--value", name); got != "/etc/systemd/system/"+name {
				t.Errorf("%s: flota-m1's %s is loaded from %q, want its own file", when, name, got)
			}
			if out, err := c.harness("exec", "flota-m1", "test", "!", "-e", "/run/systemd/system/"+name); err != nil {
				t.Errorf("%s: a runtime link shadows flota-m1's own %s: %v %s", when, name, err, out)
			}
		}
	}

	c.destroyAtEnd(t, own...)
	c.must(t, "start", "--no-block", unitFile(t, "sec-own.service", sleeper+"\n[X-Fleet]\nMachineID="+m1+"\n"))
	c.must(t, "start", unitFile(t, "sec-own2.service", sleeper+"\n[X-Fleet]\nMachineMetadata=pod=a\n"))
	if on := c.activeName(t, "sec-own2.service", 30*time.Second); on != "flota-m2" {
		t.Errorf("sec-own2.service runs on %s, want flota-m2: flota-m1 has a unit of its own by that name", on)
	}
	eventually(t, 30*time.Second, "sec-own.service unplaced, its name taken on flota-m1", func() (bool, string) {
		line := c.reasonLine(t, "sec-own.service")
		return strings.Contains(line, "name taken by the machine's own unit filtered 1 machine"), line
	})
	untouched("with flota's units placed")

	c.must(t, append([]string{"destroy"}, own...)...)
	eventually(t, 30*time.Second, "the flota units gone", func() (bool, string) {
		out := c.ctl(t, 10*time.Second, "list-unit-files", "--no-legend").out
		return !strings.Contains(out, "sec-own"), out
	})
	untouched("after flotactl destroy")
}

// TestAgentAPIFollowCap: one caller gets at most 8 journal -f streams of a
// machine at once (--api-max-follows-per-caller); the 9th to the 200th
// are refused with the cap and its flag named, the machine runs one
// journalctl per stream admitted and none once their callers go, and
// flotad's memory (its service's cgroup, journalctls included) grows by
// what 8 streams cost. Before the caps, 200 streams started 110 journalctl
// processes, 820 MiB.
func TestAgentAPIFollowCap(t *testing.T) {
	c := up(t)
	c.destroyAtEnd(t, "sec-follow.service")
	c.must(t, "start", unitFile(t, "sec-follow.service", sleeper))
	r := c.activeOn(t, "sec-follow.service", 30*time.Second)
	m := c.machineName(t, r.ip)
	url := "http://" + r.ip + ":4920/v1/units/sec-follow.service/journal?follow=1&lines=0"
	journalctls := func() int {
		// Counted from /proc, which every machine has (pgrep found none).
		out, _ := c.harness("exec", m, "sh", "-c", `n=0; for f in /proc/[0-9]*/comm; do [ "$(cat $f 2>/dev/null)" = journalctl ] && n=$((n+1)); done; echo $n`)
		n, _ := strconv.Atoi(strings.TrimSpace(out))
		return n
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	client := &http.Client{}
	open := func() *http.Response {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	memory := func() int64 {
		out := c.exec(t, m, "systemctl", "show", "-p", "MemoryCurrent", "--value", "flotad.service")
		n, err := strconv.ParseInt(strings.TrimSpace(out), 10, 64)
		if err != nil {
			t.Fatalf("flotad.service's MemoryCurrent on %s: %q", m, out)
		}
		return n
	}
	before := memory()
	for i := range 8 {
		resp := open()
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("stream %d: status %d, want 200", i+1, resp.StatusCode)
		}
	}
	for i := 8; i < 200; i++ {
		resp := open()
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(string(body), "too many journal -f streams from ") || !strings.Contains(string(body), ": 8 at once (flotad --api-max-follows-per-caller)") {
			t.Fatalf("stream %d: status %d %q, want 429 naming the per-caller cap", i+1, resp.StatusCode, body)
		}
	}
	eventually(t, 10*time.Second, "8 journalctl processes on "+m, func() (bool, string) {
		n := journalctls()
		return n == 8, strconv.Itoa(n)
	})
	// 8 journalctls of 7–8 MiB each, and flotad's share; 200 would be
	// 1.5 GiB.
	const bound = 8*16<<20 + 32<<20
	grown := memory() - before
	t.Logf("flotad.service on %s: %d MiB before, +%d MiB with 8 streams open and 192 refused", m, before>>20, grown>>20)
	if grown > bound {
		t.Errorf("flotad.service grew by %d MiB with 8 streams, want at most %d MiB", grown>>20, bound>>20)
	}
	cancel()
	eventually(t, 10*time.Second, "no journalctl left on "+m, func() (bool, string) {
		n := journalctls()
		return n == 0, strconv.Itoa(n)
	})
}

// TestContainerPrivateUsers: PrivateUsers=yes runs a container in a user
// namespace of its own: its PID 1's UID map is a range of the machine's,
// not the identity, it answers as any other, and what its root writes in
// a volume is owned by the machine's root (the volume is idmapped, not
// chowned).
func TestContainerPrivateUsers(t *testing.T) {
	c := up(t)
	c.webImage(t)
	const name = "sec-userns.service"
	c.destroyAtEnd(t, name)
	text := `[Service]
ExecStart=/usr/bin/busybox sh -c 'echo written >/data/f && exec /usr/bin/busybox httpd -f -p 8092 -h /usr/share/www'

[X-Container]
Image=web:1
PrivateUsers=yes
Volume=sec-userns:/data
`
	t0 := time.Now()
	c.must(t, "start", unitFile(t, name, text))
	at := c.activeOn(t, name, time.Minute)
	url := "http://" + at.ip + ":8092/"
	eventually(t, 30*time.Second, name+" answering at "+url, func() (bool, string) {
		got := get(url)
		return got == webPage, got
	})
	m := c.machineName(t, at.ip)
	t.Logf("%s on %s, in a user namespace: answering %v after flotactl start", name, m, time.Since(t0).Round(10*time.Millisecond))
	pid, _, _ := c.containerRoot(t, m, "/usr/bin/busybox httpd -f -p 8092 -h /usr/share/www")
	uidmap := strings.Fields(c.exec(t, m, "cat", "/proc/"+pid+"/uid_map"))
	if len(uidmap) != 3 || uidmap[0] != "0" || uidmap[1] == "0" || uidmap[2] != "65536" {
		t.Errorf("the container's UID map is %q, want its root mapped to a range of 65536 host UIDs, not to the host's root", uidmap)
	}
	if owner := c.exec(t, m, "stat", "-c", "%u", "/var/lib/flota/volumes/sec-userns/f"); owner != "0" {
		t.Errorf("the file the container's root wrote in its volume is owned by UID %s on %s, want 0 (an idmapped volume)", owner, m)
	}
}

// TestMachineRecordRestored: a machine's record deleted behind its back
// (here by a client of the plain cluster, which has no roles) is written
// back by its agent, under its lease, once the engine moves its units away
// (it used to stay deleted for as long as the lease lived, 39 s, the
// machine invisible to the engine).
func TestMachineRecordRestored(t *testing.T) {
	c := up(t)
	c.destroyAtEnd(t, "sec-record.service")
	c.must(t, "start", unitFile(t, "sec-record.service", sleeper+"\n[X-Fleet]\nMachineMetadata=pod=a\n"))
	at := c.activeOn(t, "sec-record.service", 30*time.Second)
	m := c.machineName(t, at.ip)
	id := c.machineID(t, m)
	cli, err := clientv3.New(clientv3.Config{Endpoints: c.endpoints, DialTimeout: 3 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	key := registry.DefaultPrefix + "cluster/machines/" + id
	was, err := cli.Get(ctx, key)
	if err != nil || len(was.Kvs) != 1 {
		t.Fatalf("%s's record: %v, %v", m, was, err)
	}
	del, err := cli.Delete(ctx, key)
	if err != nil || del.Deleted != 1 {
		t.Fatalf("delete %s's record: %v, %v", m, del, err)
	}
	t0 := time.Now()
	for wr := range cli.Watch(ctx, key, clientv3.WithRev(del.Header.Revision+1)) {
		for _, ev := range wr.Events {
			if ev.Type == clientv3.EventTypePut && string(ev.Kv.Value) == string(was.Kvs[0].Value) && ev.Kv.Lease == was.Kvs[0].Lease {
				d := time.Since(t0)
				t.Logf("%s's record back %v after it was deleted", m, d.Round(time.Millisecond))
				if d > 5*time.Second {
					t.Errorf("%s's record back only %v after it was deleted, want within 5 s", m, d)
				}
				// Where the unit runs now (the engine moves the units of
				// a machine whose record went, as for any machine gone).
				to := c.activeName(t, "sec-record.service", 30*time.Second)
				t.Logf("sec-record.service ran on %s, runs on %s", m, to)
				return
			}
			t.Logf("meanwhile: %s %q", ev.Type, ev.Kv.Value)
		}
	}
	t.Fatalf("%s's record was not written back within 30 s", m)
}
