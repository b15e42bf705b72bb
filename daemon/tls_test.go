package daemon

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flota-dev/flota/ctl"
	"github.com/flota-dev/flota/pki"
	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/registry/registrytest"
)

// TestDaemonTLS runs a flotad whose embedded etcd serves TLS with client
// certificates, made with flotactl pki-ca and pki-cert: its own agent and
// engine reach it with the member's certificate, and flotactl with an
// operator's lists the machine; flotactl without one is not served. Its
// agent API, over TLS, serves units to the operator's certificate only,
// and --serve-images to another machine's too.
func TestDaemonTLS(t *testing.T) {
	const id = "5e5b7d9f1a2c4e6b8d0f1a3c5e7b9d1f"
	dir := filepath.Join(t.TempDir(), "pki")
	ctl := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := ctl.Main(context.Background(), args, func(string) string { return "" }, strings.NewReader(""), &out, &errOut)
		return code, out.String(), errOut.String()
	}
	for _, args := range [][]string{{"pki-ca", dir}, {"pki-cert", dir, "etcd", "127.0.0.1"}, {"pki-cert", dir, "operator", "--operator"},
		{"pki-cert", dir, "m2", "127.0.0.2"}} {
		if code, _, errOut := ctl(args...); code != 0 {
			t.Fatalf("flotactl %v: exit %d: %s", args, code, errOut)
		}
	}
	images := t.TempDir()
	if err := os.MkdirAll(filepath.Join(images, "web_1"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(images, "web_1", "chain.json"), []byte(`{"layers":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	endpoint := fmt.Sprintf("https://127.0.0.1:%d", registrytest.FreePort(t))
	apiPort := registrytest.FreePort(t)
	args := []string{
		"--machine-id=" + id, "--public-ip=127.0.0.1", "--data-dir=" + t.TempDir(),
		"--listen-client-urls=" + endpoint, fmt.Sprintf("--listen-peer-url=https://127.0.0.1:%d", registrytest.FreePort(t)),
		"--etcd-server-cert-file=" + filepath.Join(dir, "etcd.crt"), "--etcd-server-key-file=" + filepath.Join(dir, "etcd.key"),
		"--etcd-server-ca-file=" + filepath.Join(dir, "ca.crt"),
		"--machine-ttl=2s", "--systemd=false", fmt.Sprintf("--agent-api=127.0.0.1:%d", apiPort),
		"--agent-api-cert-file=" + filepath.Join(dir, "etcd.crt"), "--agent-api-key-file=" + filepath.Join(dir, "etcd.key"),
		"--agent-api-ca-file=" + filepath.Join(dir, "ca.crt"), "--serve-images=" + images,
	}
	exited, exitCode, _, _ := runFlotad(t, args)
	reg, err := registry.Connect(registry.Config{Endpoints: []string{endpoint}, CAFile: filepath.Join(dir, "ca.crt"),
		CertFile: filepath.Join(dir, "operator.crt"), KeyFile: filepath.Join(dir, "operator.key")})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	// Wait for the machine's record, on the watch: the first read waits
	// for the member to serve.
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	c, err := reg.LoadCluster(ctx, nil)
	if err != nil {
		t.Fatalf("read the cluster over TLS: %v", err)
	}
	updates := reg.WatchCluster(ctx, c.Revision+1)
	for c.Machines[id].ID == "" {
		select {
		case u, ok := <-updates:
			if !ok || u.Err != nil {
				t.Fatalf("watch over TLS ended before machine %s registered: %v", id, u.Err)
			}
			c.Apply(u)
		case <-exited:
			t.Fatalf("flotad exited with %d", *exitCode)
		}
	}
	creds := []string{"--endpoint=" + endpoint, "--request-timeout=1", "--ca-file=" + filepath.Join(dir, "ca.crt"),
		"--cert-file=" + filepath.Join(dir, "operator.crt"), "--key-file=" + filepath.Join(dir, "operator.key")}
	want := id[:8] + "...\t127.0.0.1\t-\n"
	if code, out, errOut := ctl(append(creds, "list-machines", "--no-legend")...); code != 0 || out != want {
		t.Fatalf("list-machines over TLS: exit %d, %q %q, want %q", code, out, errOut, want)
	}
	if code, out, _ := ctl("--endpoint="+endpoint, "--request-timeout=1", "--ca-file="+filepath.Join(dir, "ca.crt"), "list-machines"); code == 0 {
		t.Fatalf("flotactl without a client certificate was served: %q", out)
	}

	// The agent API: https, advertised so, for callers with a certificate
	// of the CA only, and units for an operator's only.
	api := fmt.Sprintf("https://127.0.0.1:%d", apiPort)
	if ms, err := reg.Machines(t.Context()); err != nil || len(ms) != 1 || ms[0].API != api {
		t.Fatalf("machines %+v (err %v), want one advertising its API at %s", ms, err, api)
	}
	client := func(cert string) *http.Client {
		cfg := registry.Config{CAFile: filepath.Join(dir, "ca.crt")}
		if cert != "" {
			cfg.CertFile, cfg.KeyFile = pki.Files(dir, cert)
		}
		tc, err := registry.TLSConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: tc}}
	}
	resp, err := client("operator").Get(api + "/v1/units/x.service/status")
	if err != nil {
		t.Fatalf("the agent API with an operator's certificate: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(body), "unit x.service is not placed on this machine") {
		t.Fatalf("the agent API answered %d %q, want 404 for a unit not placed here", resp.StatusCode, body)
	}
	resp, err = client("etcd").Get(api + "/v1/units/x.service/status")
	if err != nil {
		t.Fatalf("the agent API with the member's certificate: %v", err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), `"etcd" is not one`) {
		t.Fatalf("the agent API answered the member's certificate %d %q, want 403: not an operator's", resp.StatusCode, body)
	}
	// The dashboard, and exec (on by default over TLS): an operator's
	// only.
	for _, tt := range []struct {
		cert, path string
		code       int
	}{
		{"operator", "/ui/", http.StatusOK},
		{"etcd", "/ui/", http.StatusForbidden},
		{"etcd", "/v1/units/x.service/exec?cmd=true", http.StatusForbidden},
		{"operator", "/v1/units/x.service/exec?cmd=true", http.StatusNotFound}, // served: the unit is not placed here
	} {
		resp, err := client(tt.cert).Get(api + tt.path)
		if err != nil {
			t.Fatalf("%s with the %s certificate: %v", tt.path, tt.cert, err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.code {
			t.Errorf("%s with the %s certificate: %d, want %d", tt.path, tt.cert, resp.StatusCode, tt.code)
		}
	}
	// Another machine's certificate (not an operator's) fetches images,
	// as its --image-source does.
	resp, err = client("m2").Get(api + "/images/web_1/chain.json")
	if err != nil {
		t.Fatalf("images with a machine's certificate: %v", err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != `{"layers":[]}` {
		t.Fatalf("images with a machine's certificate: %d %q, want 200 and the chain", resp.StatusCode, body)
	}
	if resp, err := client("").Get(api + "/images/web_1/chain.json"); err == nil {
		resp.Body.Close()
		t.Fatalf("the agent API served images to a caller without a certificate: %d", resp.StatusCode)
	}
	if resp, err := client("").Get(api + "/v1/units/x.service/status"); err == nil {
		resp.Body.Close()
		t.Fatalf("the agent API served a caller without a certificate: %d", resp.StatusCode)
	}
}
