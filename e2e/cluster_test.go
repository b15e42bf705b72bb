package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// repo is the repository root, from this package's directory.
var repo, _ = filepath.Abs("..")

// missing says what this machine lacks for the e2e tests, or "".
func missing() string {
	if os.Geteuid() != 0 {
		return "not root"
	}
	for _, tool := range []string{"systemd-nspawn", "mkfs.btrfs", "debootstrap", "ip", "nsenter"} {
		if _, err := exec.LookPath(tool); err != nil {
			return tool + " is not installed (harness/cluster deps installs it)"
		}
	}
	if _, err := os.Stat("/dev/loop-control"); err != nil {
		return "no loop devices (/dev/loop-control)"
	}
	return ""
}

// requireHarness skips t on a machine that cannot run the cluster, or fails
// it under CI, which must run it.
func requireHarness(t *testing.T) {
	t.Helper()
	why := missing()
	if why == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI must run the end-to-end tests, but this machine cannot: %s", why)
	}
	t.Skipf("end-to-end tests need a machine that can boot systemd-nspawn machines: %s", why)
}

// cluster is the shared harness cluster: built once per test binary, torn
// down by TestMain. It is in one of two modes: the plain one (etcd on the
// host, three machines) most tests use, or the HA one (five machines, the
// first three an etcd cluster of embedded members) of ha_test.go. A test
// asking for the other mode tears the cluster down and brings that up.
type cluster struct {
	bin       string   // directory holding flotad and flotactl built for this run
	mode      string   // modePlain, modeHA or modeSecure
	pki       string   // modeSecure's certificates (secured_test.go)
	endpoints []string // where etcd answers, from the host
	env       []string // extra environment of harness/cluster and flotactl
}

const (
	modePlain  = "plain"
	modeHA     = "ha"
	modeSecure = "secure"
)

var (
	shared   *cluster
	binDir   string
	binErr   error
	binOnce  sync.Once
	sharedMu sync.Mutex
)

// machines is how many machines every test starts from.
const machines = 3

// ttl is the leases of the machines' flotad: machine presence and engine
// leadership.
const ttl = "FLOTA_MACHINE_TTL=5s\nFLOTA_ENGINE_TTL=5s"

// imagesAPI is where the host flotad listens to serve exportDir() to the
// machines (--serve-images); imageSource is the machines' URL for it.
const (
	imagesAPI   = "10.77.0.1:4920"
	imageSource = "http://" + imagesAPI + "/images"
)

// flotadEnv is every machine's extra flotad settings.
const flotadEnv = ttl + "\nFLOTA_IMAGE_SOURCE=" + imageSource

// harnessDir is the harness's FLOTA_HARNESS_DIR.
func harnessDir() string {
	if d := os.Getenv("FLOTA_HARNESS_DIR"); d != "" {
		return d
	}
	return "/var/lib/flota-harness"
}

// exportDir is the host directory images are exported to for the machines
// (flota-image export writes <name>_<tag>/ there).
func exportDir() string { return filepath.Join(harnessDir(), "images-export") }

// up returns the shared cluster in its plain mode, bringing it up on first
// use: binaries built from this tree, the host flotad (embedded etcd), and
// three machines with metadata zone=dmz (and rack, pod: plainMetadata).
func up(t *testing.T) *cluster {
	t.Helper()
	requireHarness(t)
	c, err := sharedCluster(modePlain)
	if err != nil {
		t.Fatalf("bring the cluster up: %v", err)
	}
	return c
}

// sharedCluster returns the shared cluster in mode, switching if need be.
func sharedCluster(mode string) (*cluster, error) {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if shared != nil && shared.mode == mode {
		return shared, nil
	}
	binOnce.Do(func() { binDir, binErr = buildBinaries() })
	if binErr != nil {
		return nil, binErr
	}
	c := &cluster{bin: binDir, mode: mode, endpoints: []string{"http://127.0.0.1:2379"}}
	if mode == modeHA {
		c.endpoints = haEndpoints
		c.env = []string{"FLOTA_HARNESS_CONTROL_PLANE=3", "FLOTACTL_ENDPOINT=" + strings.Join(haEndpoints, ",")}
	}
	if mode == modeSecure {
		if err := c.makePKI(); err != nil {
			return nil, err
		}
	}
	// A clean slate: machines of an earlier run or mode would hold old units.
	if shared != nil && shared.pki != "" {
		os.RemoveAll(shared.pki)
	}
	shared = c
	if _, err := c.harness("down"); err != nil {
		return nil, err
	}
	if mode == modeHA {
		if _, err := c.harness("up", fmt.Sprint(haMachines)); err != nil {
			return nil, err
		}
		return c, nil
	}
	if mode == modeSecure {
		return c, c.upSecure()
	}
	// Engines run on the machines, not on the host: the host holds etcd,
	// so a leader killed in a test must be a machine.
	if err := os.MkdirAll(exportDir(), 0o755); err != nil {
		return nil, err
	}
	if _, err := c.harness("host", "start", "--engine=false", "--serve-images="+exportDir(), "--agent-api="+imagesAPI); err != nil {
		return nil, err
	}
	if _, err := c.harness(append([]string{"up", fmt.Sprint(machines)}, plainMetadata(machines)...)...); err != nil {
		return nil, err
	}
	return c, nil
}

// plainMetadata is the `harness/cluster up` flags giving the plain cluster's
// machines their metadata: the harness's default, zone=dmz and a rack of its
// own (rack=rN for flota-mN, which TestDistinctBy and the metadata tests
// count on), plus a second topology key, pod, that groups the three
// machines into two values: flota-m1 and flota-m2 in pod a, flota-m3 in pod
// b (podOf). TestRackSpread spreads over it: a topology with fewer values
// than machines, which rack=rN cannot give. A key of its own, not a change
// to rack, so every other test sees the metadata it always saw. Set here,
// not by FLOTA_METADATA_<NAME> in the environment, so that it reaches only
// the `up` of the plain cluster and of the secured one (its first n
// machines: TestSecuredCluster runs TestLabels there): the HA cluster's
// machines, and the machines tests add later (TestSeedStory's
// flota-m4...), keep the harness's default and have no pod.
func plainMetadata(n int) []string {
	var flags []string
	for i := 1; i <= n; i++ {
		flags = append(flags, "--meta", fmt.Sprintf("flota-m%d=zone=dmz,rack=r%d,pod=%s", i, i, podOf(i)))
	}
	return flags
}

// podOf is the pod of the plain cluster's flota-mN.
func podOf(n int) string {
	if n <= 2 {
		return "a"
	}
	return "b"
}

func buildBinaries() (string, error) {
	bin, err := os.MkdirTemp("", "flota-e2e-bin-")
	if err != nil {
		return "", err
	}
	for _, c := range []string{"flotad", "flotactl", "flota-image"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(bin, c), "./cmd/"+c)
		cmd.Dir = repo
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("build %s: %v\n%s", c, err, out)
		}
	}
	return bin, nil
}

// tearDown stops what bringUp started; the pool and the image stay cached.
func tearDown() {
	if shared == nil {
		return
	}
	if out, err := shared.harness("down"); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: harness down: %v\n%s", err, out)
	}
	os.RemoveAll(shared.bin)
	if shared.pki != "" {
		os.RemoveAll(shared.pki)
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	tearDown()
	os.Exit(code)
}

// harness runs harness/cluster with the binaries of this run.
func (c *cluster) harness(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(repo, "harness", "cluster"), args...)
	// The machines' flotad run engines and keep 5 s leases, so a killed
	// machine's units, or a killed leader's work, move on within seconds.
	cmd.Env = append(os.Environ(), "FLOTA_BIN="+filepath.Join(c.bin, "flotad"),
		"FLOTA_HARNESS_ENGINE=true", "FLOTA_HARNESS_FLOTAD_ENV="+flotadEnv)
	cmd.Env = append(cmd.Env, c.env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("harness/cluster %s: %w\n%s", strings.Join(args, " "), err, out.String())
	}
	return out.String(), nil
}

// ctlResult is what one flotactl run did.
type ctlResult struct {
	code        int
	out, errOut string
}

// ctl runs the flotactl of this run against the host's etcd, which it
// reaches with no flags at all, as an operator would.
func (c *cluster) ctl(t testing.TB, timeout time.Duration, args ...string) ctlResult {
	t.Helper()
	return c.ctlIn(t, timeout, "", args...)
}

// ctlIn is ctl with stdin.
func (c *cluster) ctlIn(t testing.TB, timeout time.Duration, stdin string, args ...string) ctlResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, "flotactl"), args...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = append(os.Environ(), c.env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	r := ctlResult{out: out.String(), errOut: errOut.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("flotactl %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// ctlB is ctl for benchmarks, with a generous limit.
func (c *cluster) ctlB(b *testing.B, args ...string) ctlResult {
	b.Helper()
	return c.ctl(b, 5*time.Minute, args...)
}

// must runs flotactl and fails t unless it exits 0.
func (c *cluster) must(t *testing.T, args ...string) ctlResult {
	t.Helper()
	r := c.ctl(t, 2*time.Minute, args...)
	if r.code != 0 {
		t.Fatalf("flotactl %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.out, r.errOut)
	}
	return r
}

// eventually retries cond, with a short pause, until it holds or limit
// passes; what it waits on lives in other processes (machines, etcd).
func eventually(t *testing.T, limit time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(limit)
	last := ""
	for time.Now().Before(deadline) {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("timed out after %v waiting for %s; last seen:\n%s", limit, what, last)
}
