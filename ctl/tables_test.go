package ctl

import (
	"context"
	"strings"
	"testing"

	"github.com/flota-dev/flota/registry"
)

// TestTables checks the list commands byte for byte against fleetctl's
// format: text/tabwriter with tab padding, upper-case header. The test acts
// as the Engine (placements) and the Agents (published states).
func TestTables(t *testing.T) {
	c := newCluster(t)
	ctx := context.Background()
	const (
		m1 = "54a526e2c1d94c4ba7ac0fd2d9c6c5e9"
		m2 = "9f3c1b7e00000000000000000000000a"
		m3 = "b1"
	)
	p1 := c.register(m1, "127.0.0.2", map[string]string{"region": "us-east", "disk": "ssd", "a.b": "x"})
	p2 := c.register(m2, "", nil)
	c.register(m3, "10.0.0.3", map[string]string{"role": "web"})

	dir := t.TempDir()
	const helloText = "[Unit]\nDescription=Hello\n\n[Service]\nExecStart=/bin/hello\n"
	const webText = "[Unit]\nDescription=web %i\n\n[Service]\nExecStart=/bin/web\n"
	hello := parse(t, "hello.service", helloText).Hash
	web := parse(t, "web@.service", webText).Hash
	g := parse(t, "g.service", "[Service]\nExecStart=/bin/g\n\n[X-Fleet]\nGlobal=true\n").Hash
	c.must("start", "--no-block", writeFile(t, dir, "hello.service", helloText))
	c.must("submit", writeFile(t, dir, "web@.service", webText))
	c.must("load", "--no-block", writeFile(t, dir, "web@1.service", webText))
	c.must("start", "--no-block", writeFile(t, dir, "g.service", "[Service]\nExecStart=/bin/g\n\n[X-Fleet]\nGlobal=true\n"))
	c.place("hello.service", m1, "")
	c.place("web@1.service", m3, "")
	publish := func(p *registry.Presence, s registry.UnitState) {
		if err := p.PublishState(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	publish(p1, registry.UnitState{Unit: "hello.service", Machine: m1, Hash: hello, Load: "loaded", Active: "active", Sub: "running", State: registry.StateLaunched})
	// A machine still reporting a unit the cluster no longer has.
	publish(p2, registry.UnitState{Unit: "old.service", Machine: m2, Load: "loaded", Active: "inactive", Sub: "dead", State: registry.StateLoaded})

	h, w, gh := hello.Short(), web.Short(), g.Short()
	tests := []struct {
		name string
		args []string
		out  string
	}{
		{"list-machines", []string{"list-machines"},
			"MACHINE\t\tIP\t\tMETADATA\n" +
				"54a526e2...\t127.0.0.2\ta.b=x,disk=ssd,region=us-east\n" +
				"9f3c1b7e...\t-\t\t-\n" +
				"b1...\t\t10.0.0.3\trole=web\n"},
		{"list-machines -l", []string{"list-machines", "-l"},
			"MACHINE\t\t\t\t\tIP\t\tMETADATA\n" +
				m1 + "\t127.0.0.2\ta.b=x,disk=ssd,region=us-east\n" +
				m2 + "\t-\t\t-\n" +
				"b1\t\t\t\t\t10.0.0.3\trole=web\n"},
		{"list-machines --fields --no-legend", []string{"list-machines", "--no-legend", "--fields=ip,machine"},
			"127.0.0.2\t54a526e2...\n" +
				"-\t\t9f3c1b7e...\n" +
				"10.0.0.3\tb1...\n"},
		{"list-units", []string{"list-units"},
			"UNIT\t\tMACHINE\t\t\tACTIVE\t\tSUB\n" +
				"hello.service\t54a526e2.../127.0.0.2\tactive\t\trunning\n" +
				"old.service\t9f3c1b7e...\t\tinactive\tdead\n" +
				"web@1.service\tb1.../10.0.0.3\t\t-\t\t-\n"},
		{"list-units --fields", []string{"list-units", "--no-legend", "--fields=hash,load"},
			h + "\tloaded\n" +
				"-\tloaded\n" +
				w + "\t-\n"},
		{"list-units --full", []string{"list-units", "--full", "--fields=unit,machine,hash"},
			"UNIT\t\tMACHINE\t\t\t\t\t\tHASH\n" +
				"hello.service\t" + m1 + "/127.0.0.2\t" + hello.String() + "\n" +
				"old.service\t" + m2 + "\t\t-\n" +
				"web@1.service\tb1/10.0.0.3\t\t\t\t\t" + web.String() + "\n"},
		{"list-unit-files", []string{"list-unit-files"},
			"UNIT\t\tHASH\tDSTATE\t\tSTATE\t\tTARGET\n" +
				"g.service\t" + gh + "\tlaunched\t-\t\tglobal\n" +
				"hello.service\t" + h + "\tlaunched\tlaunched\t54a526e2.../127.0.0.2\n" +
				"web@.service\t" + w + "\tinactive\tinactive\t-\n" +
				"web@1.service\t" + w + "\tloaded\t\tinactive\tb1.../10.0.0.3\n"},
		{"list-unit-files global desc", []string{"list-unit-files", "--fields=unit,global,desc"},
			"UNIT\t\tGLOBAL\tDESC\n" +
				"g.service\ttrue\t-\n" +
				"hello.service\tfalse\tHello\n" +
				"web@.service\tfalse\tweb %i\n" +
				"web@1.service\tfalse\tweb %i\n"},
		{"list-unit-files --full", []string{"list-unit-files", "--full", "--no-legend", "--fields=hash,target"},
			g.String() + "\tglobal\n" +
				hello.String() + "\t" + m1 + "/127.0.0.2\n" +
				web.String() + "\t-\n" +
				web.String() + "\tb1/10.0.0.3\n"},
		{"list-machines -o json", []string{"list-machines", "-o", "json", "--fields=machine,ip,metadata,version"},
			"[\n" +
				`  {"machine": "` + m1 + `", "ip": "127.0.0.2", "metadata": "a.b=x,disk=ssd,region=us-east", "version": null},` + "\n" +
				`  {"machine": "` + m2 + `", "ip": null, "metadata": null, "version": null},` + "\n" +
				`  {"machine": "b1", "ip": "10.0.0.3", "metadata": "role=web", "version": null}` + "\n]\n"},
		{"list-units --output=json", []string{"list-units", "--output=json"},
			"[\n" +
				`  {"unit": "hello.service", "machine": "` + m1 + `/127.0.0.2", "active": "active", "sub": "running"},` + "\n" +
				`  {"unit": "old.service", "machine": "` + m2 + `", "active": "inactive", "sub": "dead"},` + "\n" +
				`  {"unit": "web@1.service", "machine": "b1/10.0.0.3", "active": null, "sub": null}` + "\n]\n"},
		{"empty list-unit-files -o json", []string{"--etcd-key-prefix=/empty/", "list-unit-files", "-o", "json"}, "[]\n"},
		{"empty list-units", []string{"--etcd-key-prefix=/empty/", "list-units"}, "UNIT\tMACHINE\tACTIVE\tSUB\n"},
		{"empty list-unit-files", []string{"--etcd-key-prefix=/empty/", "list-unit-files"}, "UNIT\tHASH\tDSTATE\tSTATE\tTARGET\n"},
		{"empty list-machines", []string{"--etcd-key-prefix=/empty/", "list-machines"}, "MACHINE\tIP\tMETADATA\n"},
		{"empty without legend", []string{"--etcd-key-prefix=/empty/", "list-units", "--no-legend"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check(t, c.ctl(tt.args...), 0, tt.out, "")
		})
	}
	for _, cmd := range []string{"list-units", "list-unit-files", "list-machines"} {
		t.Run(cmd+" invalid key", func(t *testing.T) {
			check(t, c.ctl(cmd, "--fields=foo"), 1, "", "Invalid key in output format: \"foo\"\n")
			check(t, c.ctl(cmd, "--fields=,"), 1, "", "Invalid key in output format: \"\"\n")
		})
		t.Run(cmd+" unknown output", func(t *testing.T) {
			check(t, c.ctl(cmd, "-o", "yaml"), 1, "", "--output \"yaml\": want table or json\n")
		})
		t.Run(cmd+" no format", func(t *testing.T) {
			check(t, c.ctl(cmd, "--fields="), 1, "", "Must define output format\n")
		})
	}
	if strings.Contains(c.must("list-units").out, "g.service") {
		t.Error("list-units shows a unit placed nowhere")
	}
}

func TestBytesText(t *testing.T) {
	tests := []struct {
		in   uint64
		want string
	}{
		{0, "-"}, {512, "512B"}, {1024, "1.0KiB"}, {1536, "1.5KiB"},
		{24 << 30, "24.0GiB"}, {252 << 30, "252.0GiB"}, {3 << 40, "3.0TiB"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			if got := bytesText(tc.in); got != tc.want {
				t.Fatalf("bytesText(%d) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestEndpoints: a unit's endpoints are its machine's IP with each port
// it declares, while its machine reports it active, and only then.
func TestEndpoints(t *testing.T) {
	c := newCluster(t)
	ctx := context.Background()
	const m2 = "9f3c1b7e00000000000000000000000a"
	p1 := c.register(m1, "127.0.0.2", nil)
	p2 := c.register(m2, "127.0.0.3", nil)
	dir := t.TempDir()
	web := "[Service]\nExecStart=/bin/web\n\n[X-Fleet]\nPorts=http=8080 metrics=9100\n"
	c.must("start", "--no-block", writeFile(t, dir, "web@1.service", web), writeFile(t, dir, "web@2.service", web))
	c.must("start", "--no-block", writeFile(t, dir, "dns.service", "[Service]\nExecStart=/bin/dns\n\n[X-Fleet]\nPorts=53/udp\n"))
	c.must("start", "--no-block", writeFile(t, dir, "plain.service", "[Service]\nExecStart=/bin/plain\n"))
	publish := func(p *registry.Presence, machine, name, active string) {
		t.Helper()
		if err := p.PublishState(ctx, registry.UnitState{Unit: name, Machine: machine, Load: "loaded", Active: active, Sub: "running"}); err != nil {
			t.Fatal(err)
		}
	}
	publish(p1, m1, "web@1.service", "active")
	publish(p2, m2, "web@2.service", "failed") // not answering
	publish(p2, m2, "dns.service", "active")
	publish(p1, m1, "plain.service", "active")
	tests := []struct {
		name string
		args []string
		out  string
	}{
		{"every unit", []string{"endpoints"},
			"UNIT\t\tMACHINE\t\tADDRESS\t\tNAME\n" +
				"dns.service\t9f3c1b7e...\t127.0.0.3:53\t-\n" +
				"plain.service\t54a526e2...\t127.0.0.2\t-\n" +
				"web@1.service\t54a526e2...\t127.0.0.2:8080\thttp\n" +
				"web@1.service\t54a526e2...\t127.0.0.2:9100\tmetrics\n"},
		{"a glob", []string{"endpoints", "--no-legend", "--fields=address,proto", "web@*", "dns*"},
			"127.0.0.3:53\tudp\n127.0.0.2:8080\ttcp\n127.0.0.2:9100\ttcp\n"},
		{"json", []string{"endpoints", "-o", "json", "--fields=unit,ip,port", "web@*"},
			"[\n" + `  {"unit": "web@1.service", "ip": "127.0.0.2", "port": "8080"},` + "\n" +
				`  {"unit": "web@1.service", "ip": "127.0.0.2", "port": "9100"}` + "\n]\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check(t, c.ctl(tt.args...), 0, tt.out, "")
		})
	}
	t.Run("a bad glob", func(t *testing.T) {
		if r := c.ctl("endpoints", "web@["); r.code != exitUsage || !strings.Contains(r.errOut, `endpoints: bad glob "web@["`) {
			t.Errorf("exit %d, %q", r.code, r.errOut)
		}
	})
}
