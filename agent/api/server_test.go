package api_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/flota-dev/flota/agent/api"
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
			srv := httptest.NewServer(api.NewServer(func(u string) bool { return placed[u] }, rec, slog.New(slog.NewTextHandler(io.Discard, nil))).Handler())
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
			if got := resp.Trailer.Get(api.ExitTrailer); got != tc.exit {
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
