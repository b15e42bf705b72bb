package ctl

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"

	"github.com/flota-dev/flota/agent/api"
	"github.com/flota-dev/flota/pki"
	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/registry/registrytest"
)

// TestPKIAndTLS: the certificates flotactl makes secure an embedded etcd;
// flotactl with its own certificate is served; without one, or without
// the CA, it fails saying that etcd's TLS refused it, not that etcd is
// unreachable; nothing is replaced by a second pki command.
func TestPKIAndTLS(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := filepath.Join(t.TempDir(), "pki")
	check(t, runCtl(ctx, nil, "pki-ca", dir), 0, "Wrote "+dir+"/ca.crt and "+dir+"/ca.key\n", "")
	check(t, runCtl(ctx, nil, "pki-cert", dir, "etcd", "127.0.0.1", "localhost"), 0, "Wrote "+dir+"/etcd.crt and "+dir+"/etcd.key\n", "")
	check(t, runCtl(ctx, nil, "pki-cert", dir, "operator", "--operator"), 0, "Wrote "+dir+"/operator.crt and "+dir+"/operator.key\n", "")
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
		PeerURLs: []string{fmt.Sprintf("https://127.0.0.1:%d", registrytest.FreePort(t))}, UnsafeNoFsync: true,
		CertFile: filepath.Join(dir, "etcd.crt"), KeyFile: filepath.Join(dir, "etcd.key"), TrustedCAFile: filepath.Join(dir, "ca.crt")})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	tls := []string{"--endpoint=" + endpoint, "--ca-file=" + filepath.Join(dir, "ca.crt"),
		"--cert-file=" + filepath.Join(dir, "operator.crt"), "--key-file=" + filepath.Join(dir, "operator.key")}
	check(t, runCtl(ctx, nil, append(tls, "list-machines")...), 0, "MACHINE\tIP\tMETADATA\n", "")
	for _, tt := range []struct {
		name  string
		flags []string
		why   string
	}{
		{"without a certificate", []string{"--ca-file=" + filepath.Join(dir, "ca.crt")}, "certificate required"},
		{"without the CA", []string{"--cert-file=" + filepath.Join(dir, "operator.crt"), "--key-file=" + filepath.Join(dir, "operator.key")}, "certificate signed by unknown authority"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := runCtl(ctx, nil, append(append([]string{"--endpoint=" + endpoint, "--request-timeout=1"}, tt.flags...), "list-machines")...)
			want := "Error: TLS refused by etcd at " + endpoint + ": "
			if r.code == 0 || !strings.HasPrefix(r.errOut, want) || !strings.Contains(r.errOut, tt.why) || !strings.Contains(r.errOut, "(flotactl --ca-file, --cert-file, --key-file)") {
				t.Fatalf("exit %d, %q; want non-zero and %q…%q", r.code, r.errOut, want, tt.why)
			}
		})
	}

	// Roles: the operator may do anything, a machine only its own keys, a
	// certificate with no user nothing.
	for _, n := range []string{"root", "machine-m1", "nobody"} {
		check(t, runCtl(ctx, nil, "pki-cert", dir, n), 0, "Wrote "+dir+"/"+n+".crt and "+dir+"/"+n+".key\n", "")
	}
	as := func(name string, args ...string) result {
		return runCtl(ctx, nil, append([]string{"--endpoint=" + endpoint, "--request-timeout=2", "--ca-file=" + filepath.Join(dir, "ca.crt"),
			"--cert-file=" + filepath.Join(dir, name+".crt"), "--key-file=" + filepath.Join(dir, name+".key")}, args...)...)
	}
	check(t, as("root", "auth-grant", "operator", "operator"), 0, "Granted operator to operator\n", "")
	check(t, as("root", "auth-grant", "machine-m1", "machine=m1"), 0, "Granted machine=m1 to machine-m1\n", "")
	if r := as("root", "auth-grant", "x", "admin"); r.code == 0 || !strings.Contains(r.errOut, `role "admin": want operator, engine or machine=ID`) {
		t.Errorf("auth-grant of an unknown role: exit %d, %q", r.code, r.errOut)
	}
	check(t, as("root", "auth-enable"), 0, "etcd's authentication is on\n", "")
	check(t, as("operator", "list-machines"), 0, "MACHINE\tIP\tMETADATA\n", "")
	unitDir := t.TempDir()
	writeFile(t, unitDir, "a.service", "[Service]\nExecStart=/bin/true\n")
	if r := as("machine-m1", "submit", filepath.Join(unitDir, "a.service")); r.code == 0 || !strings.Contains(r.errOut, "permission denied") {
		t.Errorf("a machine's certificate submits a unit: exit %d, %q %q; want it refused, permission denied", r.code, r.out, r.errOut)
	}
	if r := as("nobody", "list-units"); r.code == 0 {
		t.Errorf("a certificate of the CA with no user was served: %q", r.out)
	}
	check(t, as("operator", "list-unit-files", "--no-legend"), 0, "", "")
}

// TestAgentAPIOverTLS: flotactl presents its certificate (--ca-file,
// --cert-file, --key-file) to an agent API served over https that asks for
// one, and is refused without it, or with one that is not an operator's.
func TestAgentAPIOverTLS(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := filepath.Join(t.TempDir(), "pki")
	for _, args := range [][]string{{"pki-ca", dir}, {"pki-cert", dir, "m1", "127.0.0.1"}, {"pki-cert", dir, "operator", "--operator"}} {
		if r := runCtl(ctx, nil, args...); r.code != 0 {
			t.Fatalf("%v: %s", args, r.errOut)
		}
	}
	info := transport.TLSInfo{CertFile: filepath.Join(dir, "m1.crt"), KeyFile: filepath.Join(dir, "m1.key"), TrustedCAFile: filepath.Join(dir, "ca.crt"), ClientCertAuth: true}
	serverTLS, err := info.ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	// httptest puts its own certificate first unless given one.
	pair, err := tls.LoadX509KeyPair(info.CertFile, info.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	serverTLS.Certificates = []tls.Certificate{pair}
	log := &commandLog{}
	srv := httptest.NewUnstartedServer(api.OperatorsOnly(api.NewServer(func(u string) bool { return u == "x.service" }, log, api.DefaultLimits(), slog.New(slog.DiscardHandler)).Handler()))
	srv.TLS = serverTLS
	srv.StartTLS()
	defer srv.Close()
	m := registry.Machine{ID: "m1", API: srv.URL}
	ask := func(cert string) (int, string, error) {
		cfg := registry.Config{CAFile: filepath.Join(dir, "ca.crt")}
		if cert != "" {
			cfg.CertFile, cfg.KeyFile = pki.Files(dir, cert)
		}
		tc, err := registry.TLSConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		c := &cli{apiTLS: tc, timeout: 5 * time.Second, log: slog.New(slog.DiscardHandler)}
		var out strings.Builder
		code, err := c.agentGet(ctx, m, "/v1/units/x.service/status", nil, &out)
		return code, out.String(), err
	}
	if code, out, err := ask("operator"); err != nil || code != 3 || !strings.Contains(out, "● x.service") {
		t.Fatalf("with a certificate: exit %d, %q, %v", code, out, err)
	}
	if _, _, err := ask("m1"); err == nil || !strings.Contains(err.Error(), `"m1" is not one`) {
		t.Fatalf("with a machine's certificate: %v, want a refusal saying it is not an operator's", err)
	}
	if _, _, err := ask(""); err == nil {
		t.Fatal("the agent API answered a caller without a certificate")
	}
}
