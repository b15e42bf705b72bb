package ctl

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flota-dev/flota/agent/api"
	"github.com/flota-dev/flota/registry"
)

// commandLog is a Runner standing in for systemctl and journalctl on a
// machine: flotactl's side (finding the machine, its API, streaming, the
// exit status) is what this tests; the real commands run in the end-to-end
// tests on real machines.
type commandLog struct {
	mu  sync.Mutex
	ran []string
}

func (l *commandLog) Run(_ context.Context, w io.Writer, name string, args ...string) (int, error) {
	l.mu.Lock()
	l.ran = append(l.ran, name+" "+strings.Join(args, " "))
	l.mu.Unlock()
	if name == "systemctl" {
		io.WriteString(w, "● "+args[len(args)-1]+" - demo\n     Active: inactive (dead)\n")
		return 3, nil
	}
	io.WriteString(w, "Nov 21 10:00:00 m1 demo[1]: hello\n")
	return 0, nil
}

func TestStatusAndJournal(t *testing.T) {
	c := newCluster(t)
	dir := t.TempDir()
	writeFile(t, dir, "hello.service", "[Service]\nExecStart=/bin/sleep 1000\n")
	writeFile(t, dir, "everywhere.service", "[Service]\nExecStart=/bin/sleep 1000\n[X-Fleet]\nGlobal=true\n")

	logs := map[string]*commandLog{}
	for _, id := range []string{"aaaaaaaa11111111", "bbbbbbbb22222222"} {
		log := &commandLog{}
		logs[id] = log
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		placed := func(u string) bool { return u == "hello.service" || u == "everywhere.service" }
		srv := httptest.NewServer(api.NewServer(placed, log, api.DefaultLimits(), slog.New(slog.DiscardHandler)).Handler())
		t.Cleanup(srv.Close)
		if _, err := c.reg.Register(ctx, registry.Machine{ID: id, IP: "127.0.0.1", API: srv.URL}, 30*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	c.startEngine()
	c.must("start", "--no-block", dir+"/hello.service", dir+"/everywhere.service")
	// Machine legends are all 21 characters: one tab pads them.
	awaitCtl(t, c, "aaaaaaaa.../127.0.0.1\teverywhere.service\nbbbbbbbb.../127.0.0.1\teverywhere.service\naaaaaaaa.../127.0.0.1\thello.service\n",
		"list-units", "--no-legend", "--fields=machine,unit")

	t.Run("status -o json is the API's document, without asking the machines", func(t *testing.T) {
		before := len(logs["aaaaaaaa11111111"].ran)
		r := c.ctl("status", "-o", "json", "hello.service", "everywhere.service")
		var doc struct {
			Units []struct {
				Name       string `json:"name"`
				Desired    string `json:"desiredState"`
				Placements []struct {
					Machine string `json:"machine"`
				} `json:"placements"`
			} `json:"units"`
		}
		if err := json.Unmarshal([]byte(r.out), &doc); r.code != 0 || err != nil {
			t.Fatalf("exit %d, %v:\n%s%s", r.code, err, r.out, r.errOut)
		}
		if len(doc.Units) != 2 || doc.Units[0].Name != "hello.service" || doc.Units[0].Desired != "launched" ||
			len(doc.Units[0].Placements) != 1 || len(doc.Units[1].Placements) != 2 {
			t.Errorf("document %+v", doc)
		}
		if got := len(logs["aaaaaaaa11111111"].ran); got != before {
			t.Errorf("status -o json ran %d commands on a machine", got-before)
		}
		check(t, c.ctl("status", "-o", "json", "nope.service"), 1, "", "Unit nope.service does not exist.\n")
	})
	t.Run("status exits with systemctl's status", func(t *testing.T) {
		r := c.ctl("status", "hello")
		check(t, r, 3, "● hello.service - demo\n     Active: inactive (dead)\n", "")
		if got := logs["aaaaaaaa11111111"].ran; len(got) != 1 || got[0] != "systemctl status -l --no-pager -- hello.service" {
			t.Fatalf("machine ran %q", got)
		}
	})
	t.Run("status of a global unit asks every machine", func(t *testing.T) {
		r := c.ctl("status", "everywhere.service")
		if r.code != 3 || strings.Count(r.out, "● everywhere.service") != 2 ||
			!strings.Contains(r.out, "-- everywhere.service on aaaaaaaa.../127.0.0.1 --") {
			t.Fatalf("exit %d, stdout:\n%s\nstderr:\n%s", r.code, r.out, r.errOut)
		}
	})
	t.Run("journal passes lines and output", func(t *testing.T) {
		r := c.ctl("journal", "--lines=3", "--output=cat", "hello.service")
		check(t, r, 0, "Nov 21 10:00:00 m1 demo[1]: hello\n", "")
		log := logs["aaaaaaaa11111111"]
		if last := log.ran[len(log.ran)-1]; last != "journalctl --unit hello.service --no-pager -n 3 --output cat" {
			t.Fatalf("machine ran %q", last)
		}
	})
	t.Run("journal --follow of a global unit is refused", func(t *testing.T) {
		r := c.ctl("journal", "-f", "everywhere.service")
		if r.code != 1 || !strings.Contains(r.errOut, "runs on 2 machines") {
			t.Fatalf("exit %d, stderr %q", r.code, r.errOut)
		}
	})
	t.Run("unknown and unplaced units", func(t *testing.T) {
		check(t, c.ctl("status", "ghost.service"), 1, "", "Unit ghost.service does not exist.\n")
		c.must("submit", dir+"/hello.service")
		writeFile(t, dir, "idle.service", "[Service]\nExecStart=/bin/true\n")
		c.must("submit", dir+"/idle.service")
		check(t, c.ctl("journal", "idle.service"), 1, "", "Unit idle.service does not appear to be running.\n")
	})
}
