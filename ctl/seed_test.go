package ctl

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/flota-dev/flota/engine"
	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/registry/registrytest"
)

// The seed story (shared/seeds/004): nginx@.service runs on the DMZ
// machines, one instance per machine, and nginx.service — here proxy.service —
// runs on every DMZ machine. The machine IDs begin like the seed's, so that
// the legends read as they do there (the IPs are loopback ones).
const (
	seedDMZ1 = "67f376d63f4e4c0c9b3d2a1e0f5c6b7a"
	seedDMZ2 = "67f99925c2b14d7e8a6f5e4d3c2b1a09"
	seedDMZ3 = "9801a07211d04e5f9a8b7c6d5e4f3a2b"
	seedDMZ4 = "a4d2c6e80b1f4a3c9d8e7f6a5b4c3d2e" // joins later, leaves later
	seedLAN  = "c0ffee0012344321abcdef0123456789" // zone=lan: never eligible

	// nginx@.service as the seed writes it.
	seedNginxTemplate = `[Unit]
Description=My NGinx server
After=docker.service
Requires=docker.service

[Service]
TimeoutStartSec=0
ExecStartPre=-/usr/bin/docker kill my-nginx-%i
ExecStartPre=-/usr/bin/docker rm my-nginx-%i
ExecStartPre=/usr/bin/docker pull nginx
ExecStart=/usr/bin/docker run --rm --name my-nginx-%i -P nginx
ExecStop=/usr/bin/docker stop my-nginx-%i

[X-Fleet]
MachineMetadata=zone=dmz
Conflicts=nginx@*
`
	// The seed's global nginx.service, under the name proxy.service.
	seedProxy = `[Unit]
Description=My NGinx server
After=docker.service
Requires=docker.service

[Service]
TimeoutStartSec=0
ExecStartPre=-/usr/bin/docker kill my-nginx
ExecStartPre=-/usr/bin/docker rm my-nginx
ExecStartPre=/usr/bin/docker pull nginx
ExecStart=/usr/bin/docker run --rm --name my-nginx -P nginx
ExecStop=/usr/bin/docker stop my-nginx

[X-Fleet]
MachineMetadata=zone=dmz
Global=true
`
)

// TestSeedNginxAntiAffinity plays the fleet part of the seed through
// flotactl, against a real etcd, a real Engine and stand-in Agents. Each
// step builds on the previous ones, so the story stops at the first that
// fails.
func TestSeedNginxAntiAffinity(t *testing.T) {
	c := newCluster(t)

	// A real Engine on a client of its own, as flotad's would be.
	eng := engine.New(registrytest.Registry(t, strings.Split(c.endpoint, ",")),
		engine.Config{ID: "e1", LeaderTTL: time.Second}, slog.New(slog.DiscardHandler))
	engCtx, stopEngine := context.WithCancel(context.Background())
	engDone := make(chan struct{})
	go func() { defer close(engDone); _ = eng.Run(engCtx) }()
	t.Cleanup(func() { stopEngine(); <-engDone })

	// The machines, each with a stand-in Agent (startAgent) that publishes
	// active/running as soon as a unit is placed on it. It stands in for the
	// systemd side of the real Agent, which is a later issue.
	dmz := map[string]string{"zone": "dmz"}
	for i, id := range []string{seedDMZ1, seedDMZ2, seedDMZ3} {
		ip := []string{"127.0.0.84", "127.0.0.85", "127.0.0.86"}[i]
		c.startAgent(c.register(id, ip, dmz), id, 0)
	}
	legend := map[string]string{
		seedDMZ1: "67f376d6.../127.0.0.84",
		seedDMZ2: "67f99925.../127.0.0.85",
		seedDMZ3: "9801a072.../127.0.0.86",
		seedDMZ4: "a4d2c6e8.../127.0.0.87",
	}

	dir := t.TempDir()
	writeFile(t, dir, "nginx@.service", seedNginxTemplate)
	writeFile(t, dir, "proxy.service", seedProxy)
	t.Chdir(dir) // "fleetctl start nginx@1", from where the template is
	h := parse(t, "nginx@1.service", seedNginxTemplate).Hash.Short()
	ph := parse(t, "proxy.service", seedProxy).Hash.Short()

	step := func(name string, f func(t *testing.T)) {
		t.Helper()
		if !t.Run(name, f) {
			t.Fatalf("story stopped at step %q", name)
		}
	}

	step("start nginx@1..3 one per machine", func(t *testing.T) {
		// Least loaded, ties to the lower ID: each instance goes to the
		// lowest machine that runs no nginx@* yet.
		on := []string{seedDMZ1, seedDMZ2, seedDMZ3}
		seen := map[string]bool{}
		for i, n := range []string{"nginx@1", "nginx@2", "nginx@3"} {
			r := c.start(context.Background(), "start", n)
			code := r.wait(t, 20*time.Second)
			u := n + ".service"
			check(t, result{code, r.out.String(), r.errOut.String()}, 0,
				"Unit "+u+" inactive\nUnit "+u+" launched on "+legend[on[i]]+"\n", "")
			_, m, _ := strings.Cut(r.out.String(), " launched on ")
			seen[m] = true
		}
		if len(seen) != 3 {
			t.Errorf("three instances landed on %d machines: %v", len(seen), seen)
		}
	})

	step("list-units", func(t *testing.T) {
		check(t, c.ctl("list-units"), 0,
			"UNIT\t\tMACHINE\t\t\tACTIVE\tSUB\n"+
				"nginx@1.service\t"+legend[seedDMZ1]+"\tactive\trunning\n"+
				"nginx@2.service\t"+legend[seedDMZ2]+"\tactive\trunning\n"+
				"nginx@3.service\t"+legend[seedDMZ3]+"\tactive\trunning\n", "")
	})

	step("start nginx@4 cannot be placed", func(t *testing.T) {
		// fleet blocked here in silence until ^C; flota says why, and
		// --block-attempts=1 gives up after 2s.
		check(t, c.ctl("start", "--block-attempts=1", "nginx@4"), 1,
			"Unit nginx@4.service inactive\n",
			"Unit nginx@4.service cannot be placed: no eligible machine among 3: Conflicts \"nginx@*\" filtered 3 machines\n"+
				"Error waiting for units: timed out waiting for unit nginx@4.service to report state launched\n")
	})

	step("start --no-block nginx@5", func(t *testing.T) {
		check(t, c.ctl("start", "--no-block", "nginx@5"), 0,
			"Unit nginx@5.service inactive\nTriggered unit nginx@5.service start\n", "")
	})

	unitFiles := func(target4 string) string {
		state4 := "inactive"
		if target4 != "-" {
			state4 = "launched"
		}
		return "UNIT\t\tHASH\tDSTATE\t\tSTATE\t\tTARGET\n" +
			"nginx@1.service\t" + h + "\tlaunched\tlaunched\t" + legend[seedDMZ1] + "\n" +
			"nginx@2.service\t" + h + "\tlaunched\tlaunched\t" + legend[seedDMZ2] + "\n" +
			"nginx@3.service\t" + h + "\tlaunched\tlaunched\t" + legend[seedDMZ3] + "\n" +
			"nginx@4.service\t" + h + "\tlaunched\t" + state4 + "\t" + target4 + "\n" +
			"nginx@5.service\t" + h + "\tlaunched\tinactive\t-\n"
	}

	step("list-unit-files: two instances wait", func(t *testing.T) {
		check(t, c.ctl("list-unit-files"), 0, unitFiles("-"), "")
	})
	step("list-unit-files --fields=unit,reason says why they wait", func(t *testing.T) {
		// nginx@5 was started without blocking: its reason is written by
		// the Engine's next pass, a batch window (engine.DefaultBatch) on.
		why := `no eligible machine among 3: Conflicts "nginx@*" filtered 3 machines`
		awaitCtl(t, c, "nginx@1.service\t-\nnginx@2.service\t-\nnginx@3.service\t-\nnginx@4.service\t"+why+"\nnginx@5.service\t"+why+"\n",
			"list-unit-files", "--no-legend", "--fields=unit,reason")
	})

	// Registered with a 1s lease of its own, so that it can leave later.
	dmz4Ctx, dmz4Leave := context.WithCancel(context.Background())
	t.Cleanup(dmz4Leave)

	step("a fourth dmz machine takes nginx@4", func(t *testing.T) {
		p, err := c.reg.Register(dmz4Ctx, registry.Machine{ID: seedDMZ4, IP: "127.0.0.87", Metadata: dmz}, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.startAgent(p, seedDMZ4, 0)
		// Pending units are placed by name: nginx@4 first, then nginx@5
		// finds no machine left.
		awaitCtl(t, c, unitFiles(legend[seedDMZ4]), "list-unit-files")
	})

	step("nginx@5 still cannot be placed", func(t *testing.T) {
		check(t, c.ctl("start", "--block-attempts=1", "nginx@5"), 1, "",
			"Unit nginx@5.service cannot be placed: no eligible machine among 4: Conflicts \"nginx@*\" filtered 4 machines\n"+
				"Error waiting for units: timed out waiting for unit nginx@5.service to report state launched\n")
	})

	nginxRows := "nginx@1.service\t" + legend[seedDMZ1] + "\tactive\trunning\n" +
		"nginx@2.service\t" + legend[seedDMZ2] + "\tactive\trunning\n" +
		"nginx@3.service\t" + legend[seedDMZ3] + "\tactive\trunning\n"

	step("global proxy on every dmz machine", func(t *testing.T) {
		c.startAgent(c.register(seedLAN, "127.0.0.88", map[string]string{"zone": "lan"}), seedLAN, 0)
		check(t, c.ctl("list-machines"), 0,
			"MACHINE\t\tIP\t\tMETADATA\n"+
				"67f376d6...\t127.0.0.84\tzone=dmz\n"+
				"67f99925...\t127.0.0.85\tzone=dmz\n"+
				"9801a072...\t127.0.0.86\tzone=dmz\n"+
				"a4d2c6e8...\t127.0.0.87\tzone=dmz\n"+
				"c0ffee00...\t127.0.0.88\tzone=lan\n", "")
		// Global units are not waited for.
		check(t, c.ctl("start", "proxy.service"), 0,
			"Unit proxy.service inactive\nTriggered global unit proxy.service start\n", "")
		awaitCtl(t, c,
			"UNIT\t\tMACHINE\t\t\tACTIVE\tSUB\n"+nginxRows+
				"nginx@4.service\t"+legend[seedDMZ4]+"\tactive\trunning\n"+
				"proxy.service\t"+legend[seedDMZ1]+"\tactive\trunning\n"+
				"proxy.service\t"+legend[seedDMZ2]+"\tactive\trunning\n"+
				"proxy.service\t"+legend[seedDMZ3]+"\tactive\trunning\n"+
				"proxy.service\t"+legend[seedDMZ4]+"\tactive\trunning\n",
			"list-units")
		if out := c.must("list-units").out; strings.Contains(out, "c0ffee00") {
			t.Errorf("a unit runs on the lan machine:\n%s", out)
		}
		check(t, c.ctl("list-unit-files"), 0,
			unitFiles(legend[seedDMZ4])+"proxy.service\t"+ph+"\tlaunched\t-\t\tglobal\n", "")
	})

	step("the proxy follows a dmz machine that leaves", func(t *testing.T) {
		dmz4Leave() // no more keep-alives: the lease expires
		// Its units stay placed on it, with no state (its rows went with
		// its lease): the global for an hour, nginx@4 until another
		// machine can take it. A machine back within that restarts nothing.
		awaitCtl(t, c,
			"UNIT\t\tMACHINE\t\t\tACTIVE\tSUB\n"+nginxRows+
				"nginx@4.service\ta4d2c6e8...\t\t-\t-\n"+
				"proxy.service\t"+legend[seedDMZ1]+"\tactive\trunning\n"+
				"proxy.service\t"+legend[seedDMZ2]+"\tactive\trunning\n"+
				"proxy.service\t"+legend[seedDMZ3]+"\tactive\trunning\n"+
				"proxy.service\ta4d2c6e8...\t\t-\t-\n",
			"list-units")
		// nginx@4 lost its machine and has nowhere else to go: it stays
		// placed there (flota departs from fleet, which unplaced it), so
		// that the machine, should it come back, restarts nothing.
		awaitCtl(t, c, strings.Replace(unitFiles("-"), "inactive\t-\n", "inactive\ta4d2c6e8...\n", 1)+"proxy.service\t"+ph+"\tlaunched\t-\t\tglobal\n", "list-unit-files")
		if out := c.must("list-machines").out; strings.Contains(out, "a4d2c6e8") {
			t.Errorf("the machine that left is still listed:\n%s", out)
		}
	})
}

// awaitCtl runs flotactl until it exits 0 printing want, for at most 20s,
// and fails with the last output it got.
func awaitCtl(t *testing.T, c *cluster, want string, args ...string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := c.ctl(args...)
		if r.code == 0 && r.out == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("flotactl %q did not print what it should within 20s\nlast: exit %d\nstdout: %q\nstderr: %q\nwant stdout: %q",
				args, r.code, r.out, r.errOut, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
