package ctl

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flota-dev/flota/clusterapi"
)

// TestDriverAPI runs fleetctl's commands with --driver=API against
// flotad's API (over a real etcd, Engine and agent), over TCP and over a
// unix socket: the same answers as over etcd, and what only etcd's
// credentials may do refused, naming --driver=etcd.
func TestDriverAPI(t *testing.T) {
	c := newCluster(t)
	p := c.register("aaaaaaaa11111111", "10.0.0.1", map[string]string{"zone": "a"})
	c.startEngine()
	c.startAgent(p, "aaaaaaaa11111111", 0)
	h := clusterapi.NewServer(c.reg, nil, slog.New(slog.DiscardHandler)).EnableWrites(c.reg).Handler()
	srv := httptest.NewServer(h)
	defer srv.Close()
	sock := filepath.Join(t.TempDir(), "flota.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	unixSrv := &http.Server{Handler: h}
	go unixSrv.Serve(l)
	defer unixSrv.Close()
	dir := t.TempDir()
	writeFile(t, dir, "hello.service", "[Unit]\nDescription=demo\n[Service]\nExecStart=/bin/sleep 1000\n")
	api := func(args ...string) result {
		t.Helper()
		return runCtl(context.Background(), nil, append([]string{"--driver=API", "--endpoint=" + srv.URL}, args...)...)
	}
	for _, tt := range []struct {
		name string
		args []string
		code int
		out  string // a part of stdout
		err  string // a part of stderr
	}{
		{"start blocks until the agent runs it", []string{"start", dir + "/hello.service"}, 0, "Unit hello.service launched on aaaaaaaa.../10.0.0.1", ""},
		{"list-units", []string{"list-units", "--no-legend"}, 0, "hello.service\taaaaaaaa.../10.0.0.1\tactive\trunning", ""},
		{"list-machines", []string{"list-machines", "--no-legend"}, 0, "aaaaaaaa...\t10.0.0.1\tzone=a", ""},
		{"cat reads the file", []string{"cat", "hello.service"}, 0, "ExecStart=/bin/sleep 1000", ""},
		{"status -o json", []string{"status", "-o", "json", "hello.service"}, 0, `"desiredState": "launched"`, ""},
		{"plan", []string{"plan", "hello.service"}, 0, "stays", ""},
		{"submit of a unit there: nothing written", []string{"submit", dir + "/hello.service"}, 0, "", ""},
		{"stop", []string{"stop", "hello.service"}, 0, "Unit hello.service loaded on aaaaaaaa.../10.0.0.1", ""},
		{"a missing unit, in fleetctl's words", []string{"stop", "nope.service"}, 1, "", "Unit nope.service not found"},
		{"label needs etcd", []string{"label", "aaaa", "rack=r1"}, 1, "", "label is not done through flotad's API: use --driver=etcd"},
		{"destroy", []string{"destroy", "hello.service"}, 0, "Destroyed hello.service", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := api(tt.args...)
			if r.code != tt.code || !strings.Contains(r.out, tt.out) || !strings.Contains(r.errOut, tt.err) {
				t.Errorf("flotactl --driver=API %q: exit %d\nstdout %q\nstderr %q\nwant %d, %q and %q", tt.args, r.code, r.out, r.errOut, tt.code, tt.out, tt.err)
			}
		})
	}
	t.Run("over the unix socket", func(t *testing.T) {
		r := runCtl(context.Background(), nil, "--driver=API", "--endpoint=unix://"+sock, "list-machines", "--no-legend")
		if r.code != 0 || !strings.Contains(r.out, "aaaaaaaa...") {
			t.Errorf("exit %d, %q %q", r.code, r.out, r.errOut)
		}
	})
	t.Run("no flotad at the default socket", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		r := runCtl(ctx, nil, "--driver=API", "--request-timeout=1", "list-units")
		if r.code == 0 || !strings.Contains(r.errOut, clusterapi.DefaultEndpoint[len("unix://"):]) {
			t.Errorf("exit %d, stderr %q: want a failure naming %s", r.code, r.errOut, clusterapi.DefaultEndpoint)
		}
	})
	t.Run("the default is still etcd", func(t *testing.T) {
		if r := c.ctl("list-machines", "--no-legend"); r.code != 0 || !strings.Contains(r.out, "aaaaaaaa...") {
			t.Errorf("exit %d, %q %q", r.code, r.out, r.errOut)
		}
	})
}
