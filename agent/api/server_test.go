package api_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/flota-dev/flota/agent/api"
	"github.com/flota-dev/flota/machineapi"
)

// recorder is a Runner that records the command and answers with canned
// output: the handler's job is argument checking and plumbing, which this
// tests; the real commands are run by the end-to-end tests on real machines.
type recorder struct {
	got    []string
	output string
	status int
}

func (r *recorder) Run(_ context.Context, w io.Writer, name string, args ...string) (int, error) {
	r.got = append([]string{name}, args...)
	io.WriteString(w, r.output)
	return r.status, nil
}

func TestAPI(t *testing.T) {
	placed := map[string]bool{"web@1.service": true}
	tests := []struct {
		name     string
		path     string
		code     int
		wantCmd  string
		wantBody string
		exit     string
	}{
		{name: "status", path: "/v1/units/web@1.service/status", code: 200,
			wantCmd: "systemctl status -l --no-pager -- web@1.service", wantBody: "● web@1.service", exit: "3"},
		{name: "journal defaults", path: "/v1/units/web@1.service/journal", code: 200,
			wantCmd: "journalctl --unit web@1.service --no-pager -n 10 --output short", exit: "3"},
		{name: "journal follow", path: "/v1/units/web@1.service/journal?lines=50&output=json&follow=1", code: 200,
			wantCmd: "journalctl --unit web@1.service --no-pager -n 50 --output json --follow", exit: "3"},
		{name: "not placed here", path: "/v1/units/other.service/status", code: 404, wantBody: "unit other.service is not placed on this machine"},
		{name: "bad name", path: "/v1/units/web%24.service/status", code: 400, wantBody: "invalid character '$' in unit name"},
		{name: "bad lines", path: "/v1/units/web@1.service/journal?lines=-1", code: 400, wantBody: `lines "-1"`},
		{name: "bad output", path: "/v1/units/web@1.service/journal?output=rm", code: 400, wantBody: `output "rm"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{output: "● web@1.service\n", status: 3}
			srv := httptest.NewServer(api.NewServer(func(u string) bool { return placed[u] }, rec, api.DefaultLimits(), slog.New(slog.NewTextHandler(io.Discard, nil))).Handler())
			defer srv.Close()
			resp, err := http.Get(srv.URL + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.code {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.code, body)
			}
			if got := strings.Join(rec.got, " "); got != tc.wantCmd {
				t.Fatalf("ran %q, want %q", got, tc.wantCmd)
			}
			if !strings.Contains(string(body), tc.wantBody) {
				t.Fatalf("body %q, want it to contain %q", body, tc.wantBody)
			}
			if got := resp.Trailer.Get(machineapi.ExitTrailer); got != tc.exit {
				t.Fatalf("exit trailer %q, want %q", got, tc.exit)
			}
		})
	}
}

func TestExecRunner(t *testing.T) {
	var out strings.Builder
	status, err := api.ExecRunner{}.Run(t.Context(), &out, "sh", "-c", "echo hi; exit 3")
	if err != nil || status != 3 || out.String() != "hi\n" {
		t.Fatalf("status %d, err %v, output %q", status, err, out.String())
	}
	if _, err := (api.ExecRunner{}).Run(t.Context(), io.Discard, "/nonexistent/flota"); err == nil {
		t.Fatal("want an error for a command that cannot run")
	}
}

// follower is a Runner whose commands run until their context ends, as
// journalctl --follow does while its caller reads; started says when one
// began. A command asked for 7 lines also ends when end is signalled, as
// one whose journal went away.
type follower struct{ started, end chan struct{} }

func (f follower) Run(ctx context.Context, w io.Writer, name string, args ...string) (int, error) {
	f.started <- struct{}{}
	if strings.Contains(strings.Join(args, " "), "-n 7 ") {
		select {
		case <-f.end:
			return 0, nil
		case <-ctx.Done():
		}
	}
	<-ctx.Done()
	return 0, ctx.Err()
}

// TestLimits: journal -f streams are capped per caller and in all, with a
// 429 that names the cap and its flag; a slot is given back when its
// stream ends; other requests end at the timeout.
func TestLimits(t *testing.T) {
	f := follower{started: make(chan struct{}, 10), end: make(chan struct{})}
	srv := api.NewServer(func(string) bool { return true }, f, api.Limits{Follows: 3, PerCaller: 2, Timeout: 50 * time.Millisecond}, slog.New(slog.DiscardHandler))
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	from := func(ip string) *http.Client {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
		return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	follow := func(c *http.Client, lines int) *http.Response {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/v1/units/a.service/journal?follow=1&lines=%d", ts.URL, lines), nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	admitted := func(c *http.Client, lines int) *http.Response {
		t.Helper()
		resp := follow(c, lines)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d, want 200", resp.StatusCode)
		}
		<-f.started
		return resp
	}
	refused := func(c *http.Client, want string) {
		t.Helper()
		resp := follow(c, 10)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(string(body), want) {
			t.Fatalf("status %d %q, want 429 saying %q", resp.StatusCode, body, want)
		}
	}
	a, b := from("127.0.0.1"), from("127.0.0.2")
	defer admitted(a, 10).Body.Close()
	defer admitted(a, 10).Body.Close()
	refused(a, "too many journal -f streams from 127.0.0.1: 2 at once (flotad --api-max-follows-per-caller)")
	ending := admitted(b, 7)
	refused(b, "too many journal -f streams on this machine: 3 at once (flotad --api-max-follows)")
	// b's stream ends on the machine: once its answer is over, its slot is
	// free again.
	f.end <- struct{}{}
	io.Copy(io.Discard, ending.Body)
	ending.Body.Close()
	if n := srv.Follows(); n != 2 {
		t.Fatalf("%d streams counted after one of 3 ended, want 2", n)
	}
	defer admitted(b, 10).Body.Close()

	// A status runs within the timeout, and says so when it runs out.
	start := time.Now()
	st, err := a.Get(ts.URL + "/v1/units/a.service/status")
	if err != nil {
		t.Fatal(err)
	}
	<-f.started
	body, _ := io.ReadAll(st.Body)
	st.Body.Close()
	if took := time.Since(start); took > 5*time.Second || !strings.Contains(string(body), "deadline exceeded") {
		t.Fatalf("status took %v and said %q, want it ended by the 50 ms timeout", took, body)
	}
}
