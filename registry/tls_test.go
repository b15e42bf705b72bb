package registry_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/flota-dev/flota/pki"
	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/registry/registrytest"
	"github.com/flota-dev/flota/unit"
)

// testPKI makes a CA in a directory of its own and a certificate for each
// name, signed by it; "etcd"'s serves as 127.0.0.1.
func testPKI(t *testing.T, names ...string) string {
	t.Helper()
	dir, now := t.TempDir(), time.Now()
	ca, err := pki.NewCA("flota-test-ca", time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := pki.Write(dir, "ca", ca.Cert, ca.Key); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		var hosts []string
		if n == "etcd" {
			hosts = []string{"127.0.0.1"}
		}
		cert, key, err := ca.Issue(pki.Request{Name: n, Hosts: hosts, Valid: time.Hour}, now)
		if err != nil {
			t.Fatal(err)
		}
		if err := pki.Write(dir, n, cert, key); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// startTLS starts a lone embedded member serving its clients over TLS
// with dir's "etcd" certificate, and returns its client URL.
func startTLS(ctx context.Context, t *testing.T, dir string) string {
	t.Helper()
	endpoint := fmt.Sprintf("https://127.0.0.1:%d", registrytest.FreePort(t))
	cert, key := pki.Files(dir, "etcd")
	caFile, _ := pki.Files(dir, "ca")
	e, err := registry.StartEmbedded(ctx, registry.EmbedConfig{Dir: t.TempDir(), ClientURLs: []string{endpoint},
		PeerURLs: []string{fmt.Sprintf("https://127.0.0.1:%d", registrytest.FreePort(t))}, UnsafeNoFsync: true,
		CertFile: cert, KeyFile: key, TrustedCAFile: caFile})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return endpoint
}

// TestEmbeddedTLS: a member given TLS files serves its clients over https
// and only to clients whose certificate the cluster's CA signed; a client
// without one, or with one of another CA, is refused; http client URLs are
// refused at start, naming why.
func TestEmbeddedTLS(t *testing.T) {
	ctx := ctxT(t)
	dir := testPKI(t, "etcd", "operator")
	other := testPKI(t, "intruder")

	cert, key := pki.Files(dir, "etcd")
	caFile, _ := pki.Files(dir, "ca")
	plain := registry.EmbedConfig{Dir: t.TempDir(), ClientURLs: []string{"http://127.0.0.1:1"}, PeerURLs: []string{"http://127.0.0.1:2"},
		CertFile: cert, KeyFile: key, TrustedCAFile: caFile}
	if _, err := registry.StartEmbedded(ctx, plain); !errors.Is(err, registry.ErrInvalid) {
		t.Fatalf("an http client URL with TLS files: %v, want ErrInvalid", err)
	}
	client := startTLS(ctx, t, dir)

	connect := func(dir, name string) error {
		c, k := pki.Files(dir, name)
		ca, _ := pki.Files(dir, "ca")
		if name == "" {
			c, k = "", ""
		}
		r, err := registry.Connect(registry.Config{Endpoints: []string{client}, CAFile: ca, CertFile: c, KeyFile: k})
		if err != nil {
			return err
		}
		defer r.Close()
		rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		_, err = r.Units(rctx)
		return err
	}
	if err := connect(dir, "operator"); err != nil {
		t.Fatalf("a client with the cluster CA's certificate: %v", err)
	}
	if err := connect(dir, ""); err == nil {
		t.Fatal("a client without a certificate was served")
	}
	// The intruder trusts the member (our CA file), but its certificate is
	// another CA's.
	ic, ik := pki.Files(other, "intruder")
	r, err := registry.Connect(registry.Config{Endpoints: []string{client}, CAFile: caFile, CertFile: ic, KeyFile: ik})
	if err == nil {
		defer r.Close()
		rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		if _, err := r.Units(rctx); err == nil {
			t.Fatal("a client with another CA's certificate was served")
		}
	}
}

// TestEmbeddedClusterTLS: three members bootstrap a cluster whose peers
// talk TLS with client certificates too; what is written through one is
// read through another, and a fourth member joins it over TLS.
func TestEmbeddedClusterTLS(t *testing.T) {
	ctx := ctxT(t)
	dir := testPKI(t, "etcd", "operator")
	cert, key := pki.Files(dir, "etcd")
	caFile, _ := pki.Files(dir, "ca")
	c := registrytest.NewClusterTLS(t, 3, registry.EmbedConfig{CertFile: cert, KeyFile: key, TrustedCAFile: caFile})
	oc, ok := pki.Files(dir, "operator")
	as := func(endpoint string) *registry.Registry {
		t.Helper()
		r, err := registry.Connect(registry.Config{Endpoints: []string{endpoint}, CAFile: caFile, CertFile: oc, KeyFile: ok})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		return r
	}
	f, err := unit.Parse("a.service", []byte("[Service]\nExecStart=/bin/true\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := as(c.Endpoint(0)).CreateUnits(ctx, []*unit.File{f}, registry.StateLaunched); err != nil {
		t.Fatal(err)
	}
	if us, err := as(c.Endpoint(2)).Units(ctx); err != nil || len(us) != 1 {
		t.Fatalf("units through another member: %v, %v", us, err)
	}

	join := registry.EmbedConfig{Name: "m4", Dir: t.TempDir(), UnsafeNoFsync: true, Join: c.Endpoints(),
		ClientURLs: []string{fmt.Sprintf("https://127.0.0.1:%d", registrytest.FreePort(t))},
		PeerURLs:   []string{fmt.Sprintf("https://127.0.0.1:%d", registrytest.FreePort(t))},
		CertFile:   cert, KeyFile: key, TrustedCAFile: caFile}
	e, err := registry.StartEmbedded(ctx, join)
	if err != nil {
		t.Fatalf("a fourth member joins over TLS: %v", err)
	}
	defer e.Close()
	if us, err := as(join.ClientURLs[0]).Units(ctx); err != nil || len(us) != 1 {
		t.Fatalf("units through the member that joined: %v, %v", us, err)
	}
}
