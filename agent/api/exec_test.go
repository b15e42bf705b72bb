package api_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/flota-dev/flota/agent/api"
	"github.com/flota-dev/flota/machineapi"
)

// execClient opens an exec stream as flotactl does and returns what the
// command wrote to each stream and its exit status (-1: an error frame,
// whose text is in errText).
func execClient(t *testing.T, base, unit string, q url.Values, stdin string, resize []uint16) (stdout, stderr string, status int, errText string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", base+machineapi.ExecPath(unit)+"?"+q.Encode(), nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", machineapi.ExecProtocol)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		b, _ := io.ReadAll(resp.Body)
		return "", string(b), 0, "", resp.StatusCode
	}
	rw := resp.Body.(io.ReadWriter)
	fw := machineapi.NewFrameWriter(rw)
	if resize != nil {
		_ = fw.Write(machineapi.FrameResize, machineapi.Size(resize[0], resize[1]))
	}
	if stdin != "" {
		_ = fw.Write(machineapi.FrameStdin, []byte(stdin))
	}
	_ = fw.Write(machineapi.FrameCloseStdin, nil)
	var out, errOut strings.Builder
	r := bufio.NewReader(rw)
	for {
		f, err := machineapi.ReadFrame(r)
		if err != nil {
			t.Fatalf("the stream broke before the exit status: %v (stdout %q)", err, out.String())
		}
		switch f.Type {
		case machineapi.FrameStdout:
			out.Write(f.Payload)
		case machineapi.FrameStderr:
			errOut.Write(f.Payload)
		case machineapi.FrameExit:
			s, _ := machineapi.ParseExit(f.Payload)
			return out.String(), errOut.String(), s, "", resp.StatusCode
		case machineapi.FrameError:
			return out.String(), errOut.String(), -1, string(f.Payload), resp.StatusCode
		}
	}
}

// TestExec runs commands through the exec endpoint on this machine (a plain
// unit's case): stdin, stdout, stderr and exit statuses pass through, a
// terminal is a terminal of the size asked and resized, and what is wrong
// is refused with why.
func TestExec(t *testing.T) {
	placed := func(u string) bool { return u == "web.service" || u == "box.service" }
	where := func(_ context.Context, u string) (api.Where, bool, error) {
		switch u {
		case "web.service":
			return api.Where{}, true, nil
		case "box.service":
			return api.Where{Container: "box"}, true, nil
		}
		return api.Where{}, false, nil
	}
	srv := api.NewServer(placed, api.ExecRunner{}, api.DefaultLimits(), slog.New(slog.DiscardHandler)).EnableExec(api.ExecConfig{Where: where, Max: 2})
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	cmd := func(words ...string) url.Values { return url.Values{"cmd": words} }
	withTTY := func(v url.Values, rows, cols int) url.Values {
		v.Set("tty", "1")
		v.Set("rows", fmt.Sprint(rows))
		v.Set("cols", fmt.Sprint(cols))
		return v
	}
	for _, tt := range []struct {
		name         string
		unit         string
		q            url.Values
		stdin        string
		resize       []uint16
		code, status int
		stdout       string // a part of it
		stderr       string
	}{
		{name: "stdout and a status", unit: "web.service", q: cmd("sh", "-c", "echo hi; exit 3"), code: 101, status: 3, stdout: "hi\n"},
		{name: "stdin to the end", unit: "web.service", q: cmd("cat"), stdin: "one\ntwo\n", code: 101, stdout: "one\ntwo\n"},
		{name: "stderr apart", unit: "web.service", q: cmd("sh", "-c", "echo oops >&2"), code: 101, stderr: "oops\n"},
		{name: "killed by a signal", unit: "web.service", q: cmd("sh", "-c", "kill -TERM $$"), code: 101, status: 143},
		{name: "a terminal of the size asked", unit: "web.service", q: withTTY(cmd("sh", "-c", "test -t 0 && stty size"), 33, 101), code: 101, stdout: "33 101"},
		{name: "a terminal with a name", unit: "web.service", q: withTTY(cmd("tty"), 24, 80), code: 101, stdout: "/dev/pts/"},
		{name: "resized", unit: "web.service", q: withTTY(cmd("sh", "-c", "sleep 0.5; stty size"), 24, 80), resize: []uint16{50, 132}, code: 101, stdout: "50 132"},
		{name: "a command that does not exist", unit: "web.service", q: cmd("/no/such/cmd"), code: 101, status: -1},
		{name: "no command", unit: "web.service", q: url.Values{}, code: 400, stderr: "want a command"},
		{name: "not placed here", unit: "db.service", q: cmd("true"), code: 404, stderr: "not placed on this machine"},
		{name: "a terminal without a size", unit: "web.service", q: url.Values{"cmd": {"true"}, "tty": {"1"}}, code: 400, stderr: "wants rows and cols"},
		{name: "a container not running", unit: "box.service", q: cmd("true"), code: 409, stderr: "its container box is not running"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, status, errText, code := execClient(t, ts.URL, tt.unit, tt.q, tt.stdin, tt.resize)
			if code != tt.code {
				t.Fatalf("HTTP %d, want %d: %s", code, tt.code, errOut)
			}
			if status != tt.status {
				t.Errorf("exit status %d, want %d (error %q)", status, tt.status, errText)
			}
			if !strings.Contains(out, tt.stdout) || !strings.Contains(errOut, tt.stderr) {
				t.Errorf("stdout %q, stderr %q: want %q and %q in them", out, errOut, tt.stdout, tt.stderr)
			}
		})
	}
	t.Run("without the upgrade", func(t *testing.T) {
		resp, err := http.Get(ts.URL + machineapi.ExecPath("web.service") + "?cmd=true")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUpgradeRequired {
			t.Errorf("%s, want 426", resp.Status)
		}
	})
	t.Run("off unless enabled", func(t *testing.T) {
		off := httptest.NewServer(api.NewServer(placed, api.ExecRunner{}, api.DefaultLimits(), slog.New(slog.DiscardHandler)).Handler())
		defer off.Close()
		_, errOut, _, _, code := execClient(t, off.URL, "web.service", cmd("true"), "", nil)
		if code != http.StatusForbidden || !strings.Contains(errOut, "exec is off") {
			t.Errorf("%d %q, want 403 and why", code, errOut)
		}
	})
	t.Run("a client that goes kills the command", func(t *testing.T) {
		one := httptest.NewServer(api.NewServer(placed, api.ExecRunner{}, api.DefaultLimits(), slog.New(slog.DiscardHandler)).EnableExec(api.ExecConfig{Where: where, Max: 1}).Handler())
		defer one.Close()
		ts := one
		conn, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "GET %s?cmd=sleep&cmd=1000 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: %s\r\n\r\n", machineapi.ExecPath("web.service"), machineapi.ExecProtocol)
		line, _ := bufio.NewReader(conn).ReadString('\n')
		if !strings.Contains(line, "101") {
			t.Fatalf("answer %q", line)
		}
		conn.Close()
		// One session at a time is the bound: another runs only once the
		// command of the client that went was killed.
		deadline := time.Now().Add(10 * time.Second)
		for {
			_, _, st1, _, c1 := execClient(t, ts.URL, "web.service", cmd("true"), "", nil)
			if c1 == 101 && st1 == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("exec still refused 10 s after its client went: %d", c1)
			}
		}
	})
}
