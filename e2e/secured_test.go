package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/flota-dev/flota/pki"
	"github.com/flota-dev/flota/registry"
)

// securedMachines is the secured cluster's size.
const securedMachines = 2

// makePKI writes the secured cluster's certificates with the commands of
// README's "Securing a cluster": a CA; the host etcd's, for its addresses;
// an operator's and root's; and one per machine, for the address the
// harness gives flota-mN (10.77.0.(10+N)). The machines read them at
// /etc/flota/pki.
func (c *cluster) makePKI() error {
	dir, err := os.MkdirTemp("", "flota-e2e-pki-")
	if err != nil {
		return err
	}
	c.pki = dir
	steps := [][]string{{"pki-ca", dir}, {"pki-cert", dir, "etcd", "10.77.0.1", "127.0.0.1"},
		{"pki-cert", dir, "operator", "--operator"}, {"pki-cert", dir, "root"}}
	for i := 1; i <= securedMachines; i++ {
		steps = append(steps, []string{"pki-cert", dir, fmt.Sprintf("flota-m%d", i), fmt.Sprintf("10.77.0.%d", 10+i)})
	}
	for _, args := range steps {
		if _, err := c.flotactl(args...); err != nil {
			return err
		}
	}
	c.endpoints = []string{"https://127.0.0.1:2379"}
	c.env = []string{"FLOTA_HARNESS_PKI=" + dir, "FLOTA_HARNESS_BIND_RO=" + dir + ":/etc/flota/pki",
		"FLOTA_HARNESS_ENGINE=false", // the host runs the engine: a machine's role is its machine's keys alone
		"FLOTACTL_ENDPOINT=https://127.0.0.1:2379", "FLOTACTL_CA_FILE=" + filepath.Join(dir, "ca.crt"),
		"FLOTACTL_CERT_FILE=" + filepath.Join(dir, "operator.crt"), "FLOTACTL_KEY_FILE=" + filepath.Join(dir, "operator.key")}
	return nil
}

// flotactl runs flotactl with args, outside any test (the cluster's own
// set-up), and returns its output or an error with its stderr.
func (c *cluster) flotactl(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, "flotactl"), args...)
	cmd.Env = append(os.Environ(), c.env...)
	var errOut strings.Builder
	cmd.Stderr = &errOut
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("flotactl %s: %w: %s", strings.Join(args, " "), err, errOut.String())
	}
	return string(out), nil
}

// upSecure brings the secured cluster up: the host's etcd over TLS with
// its engine, the machines, then, as README says, the roles with flotactl
// auth-grant (each machine's certificate its own machine's keys, the
// host's the engine's, the operator everything) and etcd's authentication
// on with flotactl auth-enable, both with root's certificate.
func (c *cluster) upSecure() error {
	if _, err := c.harness("host", "start"); err != nil {
		return err
	}
	if _, err := c.harness(append([]string{"up", fmt.Sprint(securedMachines)}, plainMetadata(securedMachines)...)...); err != nil {
		return err
	}
	cert, key := pki.Files(c.pki, "root")
	root := []string{"--endpoint=" + c.endpoints[0], "--ca-file=" + filepath.Join(c.pki, "ca.crt"), "--cert-file=" + cert, "--key-file=" + key}
	grants := [][]string{{"auth-grant", "operator", "operator"}, {"auth-grant", "etcd", "engine"}}
	for i := 1; i <= securedMachines; i++ {
		m := fmt.Sprintf("flota-m%d", i)
		out, err := c.harness("exec", m, "cat", "/etc/machine-id")
		if err != nil {
			return err
		}
		grants = append(grants, []string{"auth-grant", m, "machine=" + strings.TrimSpace(out)})
	}
	for _, args := range append(grants, []string{"auth-enable"}) {
		if _, err := c.flotactl(append(root, args...)...); err != nil {
			return err
		}
	}
	return nil
}

// registryAs is a Registry on the secured cluster with name's certificate.
func (c *cluster) registryAs(name string) (*registry.Registry, error) {
	cert, key := pki.Files(c.pki, name)
	return registry.Connect(registry.Config{Endpoints: c.endpoints, CAFile: filepath.Join(c.pki, "ca.crt"), CertFile: cert, KeyFile: key})
}

// TestSecuredCluster runs the harness cluster secured as README's
// "Securing a cluster" says: etcd over TLS with client certificates and
// roles, the agent APIs over TLS. A unit starts and its status is read
// through its machine's API; a machine's certificate cannot write another
// machine's keys, nor any unit, nor delete another's record (the attempts
// fail and change nothing); the agent API refuses a caller without a
// certificate, with another CA's or with a machine's, and serves the
// operator's. Then some of the plain cluster's tests run on it.
func TestSecuredCluster(t *testing.T) {
	requireHarness(t)
	c, err := sharedCluster(modeSecure)
	if err != nil {
		t.Fatalf("bring the secured cluster up: %v", err)
	}
	c.destroyAtEnd(t, "sec-tls.service")
	eventually(t, 60*time.Second, "both machines listed", func() (bool, string) {
		r := c.ctl(t, 10*time.Second, "list-machines", "--no-legend")
		return r.code == 0 && strings.Count(r.out, "\n") == securedMachines, r.out + r.errOut
	})
	c.must(t, "start", unitFile(t, "sec-tls.service", sleeper))
	at := c.activeOn(t, "sec-tls.service", 30*time.Second)
	if r := c.ctl(t, 20*time.Second, "status", "sec-tls.service"); !strings.Contains(r.out, "sec-tls.service") {
		t.Errorf("status through the machine's API over TLS: exit %d, %q %q", r.code, r.out, r.errOut)
	}

	// flota-m1's certificate against the other machine's keys and the units.
	m1 := strings.TrimSpace(c.exec(t, "flota-m1", "cat", "/etc/machine-id"))
	m2 := strings.TrimSpace(c.exec(t, "flota-m2", "cat", "/etc/machine-id"))
	cert, key := pki.Files(c.pki, "flota-m1")
	tc, err := registry.TLSConfig(registry.Config{CAFile: filepath.Join(c.pki, "ca.crt"), CertFile: cert, KeyFile: key})
	if err != nil {
		t.Fatal(err)
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: c.endpoints, TLS: tc, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p := registry.DefaultPrefix
	for what, op := range map[string]clientv3.Op{
		"write flota-m2's record":         clientv3.OpPut(p+"cluster/machines/"+m2, `{"ip":"10.6.6.6"}`),
		"delete flota-m2's record":        clientv3.OpDelete(p + "cluster/machines/" + m2),
		"write a state of flota-m2's":     clientv3.OpPut(p+"states/"+m2+"/sec-tls.service", `{"active":"failed"}`),
		"place a unit on flota-m2":        clientv3.OpPut(p+"cluster/placements/"+m2+"/evil.service", `{"hash":"x"}`),
		"write a unit":                    clientv3.OpPut(p+"cluster/units/evil.service", `{}`),
		"place a unit on its own machine": clientv3.OpPut(p+"cluster/placements/"+m1+"/evil.service", `{"hash":"x"}`),
	} {
		if _, err := cli.Do(ctx, op); err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("flota-m1's certificate may %s: %v", what, err)
		}
	}
	if _, err := cli.Put(ctx, p+"states/"+m1+"/probe.service", `{}`); err != nil {
		t.Errorf("flota-m1's certificate may not write its own states: %v", err)
	}
	_, _ = cli.Delete(ctx, p+"states/"+m1+"/probe.service")
	op, err := c.registryAs("operator")
	if err != nil {
		t.Fatal(err)
	}
	defer op.Close()
	ms, err := op.Machines(ctx)
	if err != nil || len(ms) != securedMachines {
		t.Fatalf("machines %v (err %v), want both, untouched", ms, err)
	}
	for _, m := range ms {
		if m.ID == m2 && m.IP != "10.77.0.12" {
			t.Errorf("flota-m2's record was changed: %+v", m)
		}
	}
	if _, err := op.Unit(ctx, "evil.service"); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("a unit the machine tried to write exists: %v", err)
	}

	// The agent API over TLS.
	url := "https://" + at.ip + ":4920/v1/units/sec-tls.service/status"
	get := func(cfg registry.Config) (int, string, error) {
		tc, err := registry.TLSConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := (&http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tc}}).Get(url)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body), nil
	}
	caFile := filepath.Join(c.pki, "ca.crt")
	oc, ok := pki.Files(c.pki, "operator")
	if code, body, err := get(registry.Config{CAFile: caFile, CertFile: oc, KeyFile: ok}); err != nil || code != http.StatusOK || !strings.Contains(body, "sec-tls.service") {
		t.Errorf("the agent API with the operator's certificate: %d %q, %v", code, body, err)
	}
	// The other machine's certificate: one of the CA (it fetches images
	// with it), but not an operator's.
	other := "flota-m1"
	if c.machineName(t, at.ip) == "flota-m1" {
		other = "flota-m2"
	}
	mc, mk := pki.Files(c.pki, other)
	if code, body, err := get(registry.Config{CAFile: caFile, CertFile: mc, KeyFile: mk}); err != nil || code != http.StatusForbidden || !strings.Contains(body, `"`+other+`" is not one`) {
		t.Errorf("the agent API with %s's certificate: %d %q, %v; want 403 saying it is not an operator's", other, code, body, err)
	}
	if _, _, err := get(registry.Config{CAFile: caFile}); err == nil {
		t.Error("the agent API served a caller without a certificate")
	}
	otherCA := t.TempDir()
	oca, err := pki.NewCA("other-ca", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ic, ik, err := oca.Issue(pki.Request{Name: "intruder", Valid: time.Hour}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := pki.Write(otherCA, "intruder", ic, ik); err != nil {
		t.Fatal(err)
	}
	icf, ikf := pki.Files(otherCA, "intruder")
	if _, _, err := get(registry.Config{CAFile: caFile, CertFile: icf, KeyFile: ikf}); err == nil {
		t.Error("the agent API served a caller with another CA's certificate")
	}

	// Tests of the plain cluster that need no more than two machines, run
	// with every client under its role.
	t.Run("TestUnitFileChanges", func(t *testing.T) { unitFileChanges(t, c) })
	t.Run("TestLabels", func(t *testing.T) { labels(t, c) })
	t.Run("TestMachinesOwnUnits", func(t *testing.T) { machinesOwnUnits(t, c) })
}
