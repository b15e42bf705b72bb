package dashboard_test

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flota-dev/flota/dashboard"
	"github.com/flota-dev/flota/engine"
	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/registry/registrytest"
	"github.com/flota-dev/flota/unit"
)

// countingStore counts the cluster reads the dashboard makes.
type countingStore struct {
	*registry.Registry
	reads atomic.Int64
}

func (s *countingStore) ReadStatus(ctx context.Context) (*registry.Status, error) {
	s.reads.Add(1)
	return s.Registry.ReadStatus(ctx)
}

// follower is a browser's view of the live stream: the frames in order,
// and the last one taken, which a wait looks at first (one frame may show
// several changes at once).
type follower struct {
	frames <-chan string
	last   string
}

// events reads a server-sent event stream: each "cluster" event's data,
// joined, in order.
func events(t *testing.T, ctx context.Context, url string) *follower {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %s %q: %s", url, resp.Status, resp.Header.Get("Content-Type"), b)
	}
	out := make(chan string, 64)
	go func() {
		defer resp.Body.Close()
		defer close(out)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		var data []string
		event := ""
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if event == "cluster" {
					out <- strings.Join(data, "\n")
				}
				data, event = nil, ""
			case strings.HasPrefix(line, "event: "):
				event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				data = append(data, strings.TrimPrefix(line, "data: "))
			}
		}
	}()
	return &follower{frames: out}
}

// await takes events until one has every want, and returns it; the last
// frame taken counts.
func await(t *testing.T, fl *follower, what string, want ...string) string {
	t.Helper()
	limit := time.After(20 * time.Second)
	shows := func(f string) bool {
		for _, w := range want {
			if !strings.Contains(f, w) {
				return false
			}
		}
		return true
	}
	for !shows(fl.last) {
		select {
		case f, ok := <-fl.frames:
			if !ok {
				t.Fatalf("the event stream ended before %s; last frame:\n%s", what, fl.last)
			}
			fl.last = f
		case <-limit:
			t.Fatalf("no frame showed %s in 20 s; last frame:\n%s", what, fl.last)
		}
	}
	return fl.last
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestDashboardFollowsTheCluster runs the dashboard over a real etcd and
// a real Engine: the page shows the machines and units, the live view
// shows a unit placed, then running, then its machine gone and the unit
// placed again, and browsers following at once share one read a change.
func TestDashboardFollowsTheCluster(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	reg := registrytest.Registry(t, registrytest.Etcd(t))
	store := &countingStore{Registry: reg}
	m1ctx, m1gone := context.WithCancel(ctx)
	p1, err := reg.Register(m1ctx, registry.Machine{ID: "m1aaaaaaaa", IP: "10.0.0.1", Metadata: map[string]string{"rack": "r1"}}, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := reg.Register(ctx, registry.Machine{ID: "m2bbbbbbbb", IP: "10.0.0.2", Metadata: map[string]string{"rack": "r2"}}, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	eng := engine.New(reg, engine.Config{ID: "e1", LeaderTTL: 2 * time.Second, MachineTTL: 2 * time.Second}, slog.New(slog.DiscardHandler))
	engDone := make(chan struct{})
	go func() { defer close(engDone); _ = eng.Run(ctx) }()
	defer func() { cancel(); <-engDone }()

	d := dashboard.NewServer(store, dashboard.Config{MinGap: 20 * time.Millisecond, MaxFollowers: 3}, slog.New(slog.DiscardHandler))
	go d.Run(ctx)
	srv := httptest.NewServer(d.Handler("/ui/"))
	defer srv.Close()

	resp, page := get(t, srv.URL+"/ui/")
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'self'") {
		t.Fatalf("GET /ui/: %s, CSP %q", resp.Status, resp.Header.Get("Content-Security-Policy"))
	}
	for _, want := range []string{`data-machine="m1aaaaaaaa"`, `data-machine="m2bbbbbbbb"`, `rack=r1`, "no unit is submitted", `src="assets/app.js"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the page has no %q:\n%s", want, page)
		}
	}
	if resp, js := get(t, srv.URL+"/ui/assets/app.js"); resp.StatusCode != http.StatusOK || !strings.Contains(js, "EventSource") {
		t.Errorf("GET /ui/assets/app.js: %s", resp.Status)
	}

	// The streams end before the server closes, which waits for them.
	evctx, stopEvents := context.WithCancel(ctx)
	defer stopEvents()
	frames := events(t, evctx, srv.URL+"/ui/events")
	other := events(t, evctx, srv.URL+"/ui/events")
	third := events(t, evctx, srv.URL+"/ui/events")
	await(t, frames, "the cluster", `data-machine="m1aaaaaaaa"`)
	await(t, other, "the cluster", `data-machine="m1aaaaaaaa"`)
	await(t, third, "the cluster", `data-machine="m1aaaaaaaa"`)
	if resp, _ := get(t, srv.URL+"/ui/events"); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("a fourth follower: %s, want 429 Too Many Requests", resp.Status)
	}

	f, err := unit.Parse("web.service", []byte("[Service]\nExecStart=/bin/sleep 1000\n[X-Fleet]\nMachineMetadata=rack=r1\n"))
	if err != nil {
		t.Fatal(err)
	}
	before := store.reads.Load()
	if err := reg.CreateUnits(ctx, []*unit.File{f}, registry.StateLaunched); err != nil {
		t.Fatal(err)
	}
	fr := await(t, frames, "web.service placed on m1", `data-unit="web.service" data-health="pending"`, `data-where="m1aaaaaaaa"`)
	if !strings.Contains(fr, "pending") {
		t.Errorf("frame: %s", fr)
	}
	// Three followers, one read a frame: the reads since the submit are
	// the frames the feed made, whoever follows.
	await(t, other, "web.service", `data-unit="web.service"`)
	await(t, third, "web.service", `data-unit="web.service"`)
	if reads := store.reads.Load() - before; reads > 4 {
		t.Errorf("%d cluster reads for a submit and its placement with three followers: the feed reads once a frame, whoever follows", reads)
	}

	if err := p1.PublishState(ctx, registry.UnitState{Unit: "web.service", Machine: "m1aaaaaaaa", Hash: f.Hash, Load: "loaded", Active: "active", Sub: "running", State: registry.StateLaunched}); err != nil {
		t.Fatal(err)
	}
	await(t, frames, "web.service running", `data-unit="web.service" data-health="running"`, `data-active="active"`)

	// m1 stops renewing its lease: its row goes, and web.service, which
	// only rack r1 takes, stays placed on it (nowhere else to go), shown
	// as on a gone machine.
	m1gone()
	fr = await(t, frames, "m1 gone", `<b>1</b> machines`, `data-gone="true"`, "(gone)")
	if strings.Contains(fr, `data-machine="m1aaaaaaaa"`) {
		t.Errorf("m1 is still listed after its lease ended:\n%s", fr)
	}
	// A unit that can go elsewhere does, and the view follows.
	g, err := unit.Parse("any.service", []byte("[Service]\nExecStart=/bin/sleep 1000\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.CreateUnits(ctx, []*unit.File{g}, registry.StateLaunched); err != nil {
		t.Fatal(err)
	}
	await(t, frames, "any.service on m2", `data-unit="any.service" data-health="pending"`, `data-where="m2bbbbbbbb"`)
	_ = p2
}

// TestDashboardPlan: the plan view of a unit shows where it would go and
// the machines' scores, best first, or why it cannot be placed.
func TestDashboardPlan(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	reg := registrytest.Registry(t, registrytest.Etcd(t))
	for _, m := range []registry.Machine{{ID: "m1aaaaaaaa", IP: "10.0.0.1", Metadata: map[string]string{"disk": "hdd"}}, {ID: "m2bbbbbbbb", IP: "10.0.0.2", Metadata: map[string]string{"disk": "ssd"}}} {
		if _, err := reg.Register(ctx, m, 30*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	var files []*unit.File
	for name, text := range map[string]string{
		"db.service":   "[Service]\nExecStart=/bin/sleep 1000\n[X-Fleet]\nPreferMachineMetadata=disk=ssd:50\n",
		"gpu.service":  "[Service]\nExecStart=/bin/sleep 1000\n[X-Fleet]\nMachineMetadata=gpu=yes\n",
		"none.service": "[Service]\nExecStart=/bin/sleep 1000\n",
	} {
		f, err := unit.Parse(name, []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	if err := reg.CreateUnits(ctx, files, registry.StateInactive); err != nil {
		t.Fatal(err)
	}
	d := dashboard.NewServer(reg, dashboard.Config{}, slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(d.Handler("/ui/"))
	defer srv.Close()
	for _, tt := range []struct {
		name, unit string
		code       int
		want       []string
	}{
		{"preferred machine first", "db.service", http.StatusOK, []string{`data-outcome="placed"`, "would be placed on <code>m2bbbbbb/10.0.0.2</code>",
			"<th>prefer</th>", `<tr data-machine="m2bbbbbbbb"><td><code>m2bbbbbb/10.0.0.2</code></td><td>50</td>`}},
		{"cannot be placed", "gpu.service", http.StatusOK, []string{`data-outcome="unplaceable"`, "cannot be placed: ", "MachineMetadata"}},
		{"not in the cluster", "nope.service", http.StatusOK, []string{`data-outcome="unknown"`, "no unit nope.service is in the cluster"}},
		{"no unit asked", "", http.StatusBadRequest, []string{"want ?unit=NAME"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := get(t, srv.URL+"/ui/plan?unit="+tt.unit)
			if resp.StatusCode != tt.code {
				t.Fatalf("%s, want %d: %s", resp.Status, tt.code, body)
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("no %q in:\n%s", w, body)
				}
			}
		})
	}
	// A dry run writes nothing: db.service is still inactive and unplaced.
	st, err := reg.ReadStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Placements) != 0 || st.Units[0].Desired != registry.StateInactive {
		t.Errorf("the plan view wrote to the cluster: %v placements, %s", st.Placements, st.Units[0].Desired)
	}
}
