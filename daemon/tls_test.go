package daemon

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flota-dev/flota/ctl"
	"github.com/flota-dev/flota/registry/registrytest"
)

// TestDaemonTLS runs a flotad whose embedded etcd serves TLS with client
// certificates, made with flotactl pki-ca and pki-cert: its own agent and
// engine reach it with the member's certificate, and flotactl with an
// operator's lists the machine; flotactl without one is not served.
func TestDaemonTLS(t *testing.T) {
	const id = "5e5b7d9f1a2c4e6b8d0f1a3c5e7b9d1f"
	dir := filepath.Join(t.TempDir(), "pki")
	ctl := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := ctl.Main(context.Background(), args, func(string) string { return "" }, strings.NewReader(""), &out, &errOut)
		return code, out.String(), errOut.String()
	}
	for _, args := range [][]string{{"pki-ca", dir}, {"pki-cert", dir, "etcd", "127.0.0.1"}, {"pki-cert", dir, "operator"}} {
		if code, _, errOut := ctl(args...); code != 0 {
			t.Fatalf("flotactl %v: exit %d: %s", args, code, errOut)
		}
	}
	endpoint := fmt.Sprintf("https://127.0.0.1:%d", registrytest.FreePort(t))
	args := []string{
		"--machine-id=" + id, "--public-ip=127.0.0.1", "--data-dir=" + t.TempDir(),
		"--listen-client-urls=" + endpoint, fmt.Sprintf("--listen-peer-url=http://127.0.0.1:%d", registrytest.FreePort(t)),
		"--etcd-server-cert-file=" + filepath.Join(dir, "etcd.crt"), "--etcd-server-key-file=" + filepath.Join(dir, "etcd.key"),
		"--etcd-server-ca-file=" + filepath.Join(dir, "ca.crt"),
		"--machine-ttl=2s", "--systemd=false", "--agent-api=off",
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs syncBuffer
	exited := make(chan int, 1)
	go func() { exited <- Main(ctx, args, func(string) string { return "" }, &logs) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
		}
		if t.Failed() {
			t.Logf("flotad's log:\n%s", logs.String())
		}
	})
	creds := []string{"--endpoint=" + endpoint, "--request-timeout=1", "--ca-file=" + filepath.Join(dir, "ca.crt"),
		"--cert-file=" + filepath.Join(dir, "operator.crt"), "--key-file=" + filepath.Join(dir, "operator.key")}
	want := id[:8] + "...\t127.0.0.1\t-\n"
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, out, errOut := ctl(append(creds, "list-machines", "--no-legend")...)
		if code == 0 && out == want {
			break
		}
		select {
		case c := <-exited:
			t.Fatalf("flotad exited with %d", c)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("list-machines over TLS: exit %d, %q %q, want %q", code, out, errOut, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code, out, _ := ctl("--endpoint="+endpoint, "--request-timeout=1", "--ca-file="+filepath.Join(dir, "ca.crt"), "list-machines"); code == 0 {
		t.Fatalf("flotactl without a client certificate was served: %q", out)
	}
}
