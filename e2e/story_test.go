package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

const nginx = `[Unit]
Description=My NGinx server

[Service]
ExecStartPre=/bin/mkdir -p /run/web-%i
ExecStartPre=/bin/sh -c 'echo "nginx@%i on %H" >/run/web-%i/index.html'
ExecStart=/bin/busybox httpd -f -p 80 -h /run/web-%i

[X-Fleet]
MachineMetadata=zone=dmz
Conflicts=nginx@*
`

const proxy = `[Unit]
Description=Reverse proxy on every DMZ machine

[Service]
ExecStartPre=/bin/sh -c 'mkdir -p /run/proxy && echo "proxy on %H" >/run/proxy/index.html'
ExecStart=/bin/busybox httpd -f -p 8080 -h /run/proxy

[X-Fleet]
MachineMetadata=zone=dmz
Global=true
`

// TestSeedStory plays seed 004's fleet story with real units on real
// machines: three instances on three machines, each answering; a fourth
// that cannot be placed and says why; --no-block; a machine joining and the
// waiting instance starting on it; a global unit on every DMZ machine,
// following machines that join and leave.
func TestSeedStory(t *testing.T) {
	c := up(t)
	tpl := unitFile(t, "nginx@.service", nginx)
	c.destroyAtEnd(t, "nginx@1", "nginx@2", "nginx@3", "nginx@4", "nginx@5", "proxy.service")
	t.Cleanup(func() {
		for _, m := range []string{"flota-m4", "flota-m5", "flota-m6"} {
			c.harness("remove", m)
		}
	})
	dir := tpl[:len(tpl)-len("/nginx@.service")]

	seen := map[string]bool{}
	for i := 1; i <= 3; i++ {
		name := fmt.Sprintf("nginx@%d.service", i)
		r := c.must(t, "start", dir+"/"+name)
		if !strings.HasPrefix(r.out, "Unit "+name+" inactive\nUnit "+name+" launched on ") {
			t.Fatalf("start %s printed %q", name, r.out)
		}
		at := c.activeOn(t, name, 10*time.Second)
		if seen[at.machine] {
			t.Fatalf("%s shares machine %s with another instance", name, at.machine)
		}
		seen[at.machine] = true
		want := fmt.Sprintf("nginx@%d on %s", i, c.machineName(t, at.ip))
		if got := get("http://" + at.ip + "/"); got != want {
			t.Fatalf("%s on %s answers %q, want %q", name, at.ip, got, want)
		}
	}

	r := c.ctl(t, time.Minute, "start", "--block-attempts=1", dir+"/nginx@4.service")
	if r.code == 0 || !strings.Contains(r.errOut, `Unit nginx@4.service cannot be placed: no eligible machine among 3: Conflicts "nginx@*" filtered 3 machines`) {
		t.Fatalf("start nginx@4: exit %d, stderr %q", r.code, r.errOut)
	}
	r = c.must(t, "start", "--no-block", dir+"/nginx@5.service")
	if r.out != "Unit nginx@5.service inactive\nTriggered unit nginx@5.service start\n" {
		t.Fatalf("start --no-block nginx@5 printed %q", r.out)
	}

	if _, err := c.harness("add", "flota-m4", "zone=dmz,rack=r4"); err != nil {
		t.Fatal(err)
	}
	r = c.must(t, "start", "nginx@4")
	at := c.activeOn(t, "nginx@4.service", 10*time.Second)
	if !strings.HasSuffix(strings.TrimSpace(r.out), "/"+at.ip) || c.machineName(t, at.ip) != "flota-m4" {
		t.Fatalf("nginx@4 on %s (%s), start printed %q", at.ip, c.machineName(t, at.ip), r.out)
	}
	if got := get("http://" + at.ip + "/"); got != "nginx@4 on flota-m4" {
		t.Fatalf("nginx@4 answers %q", got)
	}
	if rs := c.where(t, "nginx@5.service"); len(rs) != 0 {
		t.Fatalf("nginx@5 should still wait, runs on %v", rs)
	}

	if _, err := c.harness("add", "flota-m5", "zone=lan,rack=r5"); err != nil {
		t.Fatal(err)
	}
	r = c.must(t, "start", unitFile(t, "proxy.service", proxy))
	if r.out != "Unit proxy.service inactive\nTriggered global unit proxy.service start\n" {
		t.Fatalf("start proxy printed %q", r.out)
	}
	proxyOn := func(names ...string) {
		t.Helper()
		var want []string
		for _, n := range names {
			ip, _ := c.harness("ip", n)
			want = append(want, n+"@"+strings.TrimSpace(ip))
		}
		slices.Sort(want)
		eventually(t, 15*time.Second, fmt.Sprintf("proxy active on %v", want), func() (bool, string) {
			var got []string
			for _, r := range c.where(t, "proxy.service") {
				if r.active == "active" {
					name, _ := c.lookupName(r.ip)
					got = append(got, name+"@"+r.ip)
				}
			}
			slices.Sort(got)
			return slices.Equal(got, want), fmt.Sprint(got)
		})
	}
	proxyOn("flota-m1", "flota-m2", "flota-m3", "flota-m4")
	ip, _ := c.harness("ip", "flota-m4")
	if got := get("http://" + strings.TrimSpace(ip) + ":8080/"); got != "proxy on flota-m4" {
		t.Fatalf("proxy on flota-m4 answers %q", got)
	}
	if _, err := c.harness("add", "flota-m6", "zone=dmz,rack=r6"); err != nil {
		t.Fatal(err)
	}
	proxyOn("flota-m1", "flota-m2", "flota-m3", "flota-m4", "flota-m6")
	if _, err := c.harness("remove", "flota-m6"); err != nil {
		t.Fatal(err)
	}
	proxyOn("flota-m1", "flota-m2", "flota-m3", "flota-m4")
}
