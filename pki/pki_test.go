package pki_test

import (
	"crypto/x509"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/flota-dev/flota/pki"
)

func TestIssue(t *testing.T) {
	now := time.Now()
	ca, err := pki.NewCA("flota-ca", time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	tests := []struct {
		name    string
		req     pki.Request
		usages  []x509.ExtKeyUsage
		wantErr bool
	}{
		{"a client", pki.Request{Name: "flota-m1", Valid: time.Hour}, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, false},
		{"an operator", pki.Request{Name: "operator", Valid: time.Hour, Operator: true}, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, false},
		{"a member, by IP and name", pki.Request{Name: "etcd", Hosts: []string{"10.0.0.1", "etcd.example"}, Valid: time.Hour},
			[]x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth}, false},
		{"a bad host", pki.Request{Name: "etcd", Hosts: []string{"a b"}, Valid: time.Hour}, nil, true},
		{"a bad name", pki.Request{Name: "a,b", Valid: time.Hour}, nil, true},
		{"no validity", pki.Request{Name: "x", Valid: 0}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cert, _, err := ca.Issue(tt.req, now)
			if tt.wantErr {
				if !errors.Is(err, pki.ErrInvalid) {
					t.Fatalf("err %v, want ErrInvalid", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cert.Subject.CommonName != tt.req.Name {
				t.Errorf("CN %q, want %q", cert.Subject.CommonName, tt.req.Name)
			}
			if pki.IsOperator(cert) != tt.req.Operator {
				t.Errorf("IsOperator %v, want %v", pki.IsOperator(cert), tt.req.Operator)
			}
			for _, u := range tt.usages {
				if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{u}, CurrentTime: now}); err != nil {
					t.Errorf("usage %v: %v", u, err)
				}
			}
			if len(tt.req.Hosts) > 0 {
				if !cert.IPAddresses[0].Equal(net.ParseIP("10.0.0.1")) || cert.DNSNames[0] != "etcd.example" {
					t.Errorf("hosts %v %v", cert.IPAddresses, cert.DNSNames)
				}
				if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, DNSName: "etcd.example", CurrentTime: now}); err != nil {
					t.Errorf("as a server: %v", err)
				}
			}
		})
	}
}

func TestWriteAndLoad(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	ca, err := pki.NewCA("flota-ca", time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := pki.Write(dir, "ca", ca.Cert, ca.Key); err != nil {
		t.Fatal(err)
	}
	if err := pki.Write(dir, "ca", ca.Cert, ca.Key); err == nil {
		t.Fatal("Write replaced the CA")
	}
	back, err := pki.LoadCA(dir)
	if err != nil || !back.Cert.Equal(ca.Cert) || !back.Key.Equal(ca.Key) {
		t.Fatalf("LoadCA: %v", err)
	}
	cert, key, err := back.Issue(pki.Request{Name: "m1", Valid: time.Hour}, now)
	if err != nil {
		t.Fatal(err)
	}
	other := t.TempDir()
	if err := pki.Write(other, "ca", cert, key); err != nil {
		t.Fatal(err)
	}
	if _, err := pki.LoadCA(other); !errors.Is(err, pki.ErrInvalid) {
		t.Fatalf("LoadCA of a non-CA certificate: %v, want ErrInvalid", err)
	}
}
