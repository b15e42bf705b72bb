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
)

// TestEmbeddedTLS: a member given TLS files serves its clients over https
// and only to clients whose certificate the cluster's CA signed; a client
// without one, or with one of another CA, is refused; http client URLs are
// refused at start, naming why.
func TestEmbeddedTLS(t *testing.T) {
	ctx := ctxT(t)
	dir, other := t.TempDir(), t.TempDir()
	now := time.Now()
	issue := func(dir, name string, hosts ...string) {
		t.Helper()
		ca, err := pki.LoadCA(dir)
		if err != nil {
			t.Fatal(err)
		}
		cert, key, err := ca.Issue(pki.Request{Name: name, Hosts: hosts, Valid: time.Hour}, now)
		if err != nil {
			t.Fatal(err)
		}
		if err := pki.Write(dir, name, cert, key); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{dir, other} {
		ca, err := pki.NewCA("flota-test-ca", time.Hour, now)
		if err != nil {
			t.Fatal(err)
		}
		if err := pki.Write(d, "ca", ca.Cert, ca.Key); err != nil {
			t.Fatal(err)
		}
	}
	issue(dir, "etcd", "127.0.0.1")
	issue(dir, "operator")
	issue(other, "intruder")

	client := fmt.Sprintf("https://127.0.0.1:%d", registrytest.FreePort(t))
	peer := fmt.Sprintf("http://127.0.0.1:%d", registrytest.FreePort(t))
	cert, key := pki.Files(dir, "etcd")
	caFile, _ := pki.Files(dir, "ca")
	cfg := registry.EmbedConfig{Dir: t.TempDir(), ClientURLs: []string{client}, PeerURLs: []string{peer}, UnsafeNoFsync: true,
		CertFile: cert, KeyFile: key, TrustedCAFile: caFile}

	plain := cfg
	plain.ClientURLs = []string{"http://127.0.0.1:1"}
	if _, err := registry.StartEmbedded(ctx, plain); !errors.Is(err, registry.ErrInvalid) {
		t.Fatalf("an http client URL with TLS files: %v, want ErrInvalid", err)
	}

	e, err := registry.StartEmbedded(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()

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
