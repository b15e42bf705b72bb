package ctl

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/flota-dev/flota/agent/api"
	"github.com/flota-dev/flota/registry"
)

// TestExec runs flotactl exec against real agent API servers (their
// commands run on this machine, as for plain units): output, stdin, the
// command's exit status as flotactl's, flags after UNIT kept as the
// command's, a global unit needing --machine, and what is wrong said.
func TestExec(t *testing.T) {
	c := newCluster(t)
	dir := t.TempDir()
	writeFile(t, dir, "hello.service", "[Service]\nExecStart=/bin/sleep 1000\n")
	writeFile(t, dir, "everywhere.service", "[Service]\nExecStart=/bin/sleep 1000\n[X-Fleet]\nGlobal=true\n")
	writeFile(t, dir, "closed.service", "[Service]\nExecStart=/bin/sleep 1000\n[X-Fleet]\nMachineID=cccccccc33333333\n")
	for _, id := range []string{"aaaaaaaa11111111", "bbbbbbbb22222222", "cccccccc33333333"} {
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		placed := func(u string) bool { return u == "hello.service" || u == "everywhere.service" || u == "closed.service" }
		srv := api.NewServer(placed, api.ExecRunner{}, api.DefaultLimits(), slog.New(slog.DiscardHandler))
		if id != "cccccccc33333333" { // the third machine serves no exec
			srv.EnableExec(api.ExecConfig{Where: func(_ context.Context, u string) (api.Where, bool, error) { return api.Where{}, placed(u), nil }})
		}
		ts := httptest.NewServer(srv.Handler())
		t.Cleanup(ts.Close)
		if _, err := c.reg.Register(ctx, registry.Machine{ID: id, IP: "127.0.0.1", API: ts.URL}, 30*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	c.startEngine()
	c.must("start", "--no-block", dir+"/hello.service", dir+"/everywhere.service", dir+"/closed.service")
	awaitCtl(t, c, "closed.service\neverywhere.service\neverywhere.service\neverywhere.service\nhello.service\n", "list-units", "--no-legend", "--fields=unit")

	run := func(stdin string, args ...string) result {
		var out, errOut bytes.Buffer
		code := Main(context.Background(), append([]string{"--endpoint", c.endpoint}, args...), func(string) string { return "" }, strings.NewReader(stdin), &out, &errOut)
		return result{code: code, out: out.String(), errOut: errOut.String()}
	}
	for _, tt := range []struct {
		name         string
		stdin        string
		args         []string
		code         int
		out, errPart string
	}{
		{"output and status 0", "", []string{"exec", "hello.service", "echo", "-n", "hi"}, 0, "hi", ""},
		{"the command's exit status is flotactl's", "", []string{"exec", "hello", "--", "sh", "-c", "exit 7"}, 7, "", ""},
		{"stdin passes", "one\ntwo\n", []string{"exec", "hello.service", "wc", "-l"}, 0, "2\n", ""},
		{"stderr apart", "", []string{"exec", "hello.service", "sh", "-c", "echo e >&2"}, 0, "", "e\n"},
		{"a terminal when asked", "", []string{"exec", "-t", "hello.service", "sh", "-c", "test -t 1 && echo tty"}, 0, "tty\r\n", ""},
		{"a global unit needs --machine", "", []string{"exec", "everywhere.service", "true"}, 1, "", "unit everywhere.service runs on 3 machines: name one with --machine"},
		{"a global unit's copy on one machine", "", []string{"exec", "--machine=bbbb", "everywhere.service", "echo", "b"}, 0, "b\n", ""},
		{"a machine that serves no exec", "", []string{"exec", "closed.service", "true"}, 1, "", "exec is off on this machine (flotad --exec)"},
		{"no command", "", []string{"exec", "hello.service", "--"}, 2, "", "exec: missing COMMAND after hello.service"},
		{"a unit not in the cluster", "", []string{"exec", "nope.service", "true"}, 1, "", "Unit nope.service does not exist."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := run(tt.stdin, tt.args...)
			if r.code != tt.code || r.out != tt.out || !strings.Contains(r.errOut, tt.errPart) {
				t.Errorf("flotactl %q: exit %d, stdout %q, stderr %q; want %d, %q and %q in stderr", tt.args, r.code, r.out, r.errOut, tt.code, tt.out, tt.errPart)
			}
		})
	}
}
