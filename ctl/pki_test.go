package ctl

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/registry/registrytest"
)

// TestPKIAndTLS: the certificates flotactl makes secure an embedded etcd;
// flotactl with its own certificate is served, without one it fails with
// the error, and nothing is replaced by a second pki command.
func TestPKIAndTLS(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := filepath.Join(t.TempDir(), "pki")
	check(t, runCtl(ctx, nil, "pki-ca", dir), 0, "Wrote "+dir+"/ca.crt and "+dir+"/ca.key\n", "")
	check(t, runCtl(ctx, nil, "pki-cert", dir, "etcd", "127.0.0.1", "localhost"), 0, "Wrote "+dir+"/etcd.crt and "+dir+"/etcd.key\n", "")
	check(t, runCtl(ctx, nil, "pki-cert", dir, "operator"), 0, "Wrote "+dir+"/operator.crt and "+dir+"/operator.key\n", "")
	if r := runCtl(ctx, nil, "pki-ca", dir); r.code == 0 || !strings.Contains(r.errOut, "ca.crt exists: not replacing it") {
		t.Errorf("a second pki-ca: exit %d, %q", r.code, r.errOut)
	}
	if r := runCtl(ctx, nil, "pki-cert", dir, "bad/name"); r.code == 0 || !strings.Contains(r.errOut, `name "bad/name"`) {
		t.Errorf("pki-cert of a bad name: exit %d, %q", r.code, r.errOut)
	}
	if fi, err := os.Stat(filepath.Join(dir, "operator.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("operator.key: %v, mode %v, want 0600", err, fi.Mode())
	}

	endpoint := fmt.Sprintf("https://127.0.0.1:%d", registrytest.FreePort(t))
	e, err := registry.StartEmbedded(ctx, registry.EmbedConfig{Dir: t.TempDir(), ClientURLs: []string{endpoint},
		PeerURLs: []string{fmt.Sprintf("http://127.0.0.1:%d", registrytest.FreePort(t))}, UnsafeNoFsync: true,
		CertFile: filepath.Join(dir, "etcd.crt"), KeyFile: filepath.Join(dir, "etcd.key"), TrustedCAFile: filepath.Join(dir, "ca.crt")})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	tls := []string{"--endpoint=" + endpoint, "--ca-file=" + filepath.Join(dir, "ca.crt"),
		"--cert-file=" + filepath.Join(dir, "operator.crt"), "--key-file=" + filepath.Join(dir, "operator.key")}
	check(t, runCtl(ctx, nil, append(tls, "list-machines")...), 0, "MACHINE\tIP\tMETADATA\n", "")
	r := runCtl(ctx, nil, "--endpoint="+endpoint, "--ca-file="+filepath.Join(dir, "ca.crt"), "--request-timeout=2", "list-machines")
	if r.code == 0 {
		t.Fatalf("flotactl without a client certificate was served: %q", r.out)
	}
	t.Logf("without a certificate: exit %d, %s", r.code, strings.TrimSpace(r.errOut))
}
