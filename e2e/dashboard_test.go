package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/flota-dev/flota/registry"
)

// chromium is Debian's headless browser (make deps installs it).
const chromium = "/usr/bin/chromium"

// requireChromium skips t without the browser, or fails it under CI,
// which must run it.
func requireChromium(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath(chromium); err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI must run the dashboard's browser test, but %s is not installed (make deps installs Debian's chromium)", chromium)
	}
	t.Skipf("the dashboard's browser test needs %s (make deps installs Debian's chromium)", chromium)
}

// browser starts a headless Chromium for t, with the flags this closed
// network needs (no background connections, no first-run, no sync) and an
// empty profile; it ends with t.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox, // root
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelBrowser(); cancelAlloc() })
	// The first run on a context starts the browser and ties it to that
	// context: on bctx itself, not on a wait's shorter one.
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start %s: %v", chromium, err)
	}
	return bctx
}

// shoot saves a screenshot of the whole page as a test artifact (make test
// keeps them under bin/test-artifacts/).
func shoot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: a PNG, not a JPEG
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(t.ArtifactDir(), name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// within runs actions in the browser, failing t if they take longer than
// limit (a wait for an element that never comes).
func within(t *testing.T, ctx context.Context, limit time.Duration, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	if err := chromedp.Do(tctx, actions...); err != nil {
		html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("main")))
		t.Fatalf("%s: %v\npage:\n%s", what, err, html)
	}
}

// TestDashboard opens the dashboard of a harness machine in headless
// Chromium: it shows the cluster's machines, then, with no reload, a unit
// started and running, then a machine killed gone from it; the plan view
// shows a unit's scores. Screenshots of each step are kept.
func TestDashboard(t *testing.T) {
	c := up(t)
	requireChromium(t)
	reg, err := registry.Connect(registry.Config{Endpoints: c.endpoints})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	ms, err := reg.Machines(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != machines {
		t.Fatalf("%d machines registered, want %d", len(ms), machines)
	}
	// The dashboard is the engine leader's machine's; the victim is
	// another (a leader's death would add a takeover to the test).
	lead := c.leaderMachine(t)
	var host, victim registry.Machine
	for _, m := range ms {
		switch name := c.machineName(t, m.IP); {
		case name == lead:
			host = m
		case victim.ID == "":
			victim = m
		}
	}
	url := "http://" + host.IP + ":4920/ui/"
	ctx := browser(t)

	// The page: every machine, and the live stream connected.
	loaded := []chromedp.Action[chromedp.Void]{chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(`#live[data-state="live"]`))}
	for _, m := range ms {
		loaded = append(loaded, chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`tr[data-machine=%q]`, m.ID))))
	}
	// A mark in the page's own state: gone if the page reloads.
	loaded = append(loaded, chromedp.Evaluate[chromedp.Void](`window.flotaMark = 42; undefined`))
	within(t, ctx, 30*time.Second, "the dashboard shows the cluster", loaded...)
	shoot(t, ctx, "1-cluster.png")

	// A unit starts: its row appears, then turns running, pushed.
	c.destroyAtEnd(t, "dashboard.service")
	c.must(t, "start", "--no-block", unitFile(t, "dashboard.service", sleeper))
	within(t, ctx, 30*time.Second, "dashboard.service shown running",
		chromedp.WaitVisible(chromedp.CSS(`tr[data-unit="dashboard.service"][data-health="running"] div[data-active="active"]`)))
	shoot(t, ctx, "2-unit-running.png")

	// A machine dies: its row goes once its lease ends.
	t.Cleanup(func() { c.harness("start", c.machineName(t, victim.IP)) })
	if _, err := c.harness("kill", c.machineName(t, victim.IP)); err != nil {
		t.Fatal(err)
	}
	within(t, ctx, leaseTTL+20*time.Second, "the killed machine's row gone",
		chromedp.WaitNotPresent(chromedp.CSS(fmt.Sprintf(`tr[data-machine=%q]`, victim.ID))))
	mark, err := chromedp.Run(ctx, chromedp.Evaluate[int](`window.flotaMark || 0`))
	if err != nil {
		t.Fatalf("read the page's mark: %v", err)
	}
	if mark != 42 {
		t.Errorf("the page reloaded (mark %d): updates must come pushed, not by reloads", mark)
	}
	shoot(t, ctx, "3-machine-gone.png")

	// The plan view: a running unit stays; a submitted one would be
	// placed, every machine scored.
	within(t, ctx, 20*time.Second, "the plan view of a running unit",
		chromedp.Navigate(url+"plan?unit=dashboard.service"),
		chromedp.WaitVisible(chromedp.CSS(`#plan[data-outcome="stays"]`)))
	c.destroyAtEnd(t, "dashboard-plan.service")
	c.must(t, "submit", unitFile(t, "dashboard-plan.service", sleeper))
	within(t, ctx, 20*time.Second, "the plan view of a submitted unit",
		chromedp.Navigate(url+"plan?unit=dashboard-plan.service"),
		chromedp.WaitVisible(chromedp.CSS(`#plan[data-outcome="placed"] #scores tbody tr`)))
	shoot(t, ctx, "4-plan.png")
}
