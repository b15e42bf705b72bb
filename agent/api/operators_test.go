package api_test

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/flota-dev/flota/agent/api"
	"github.com/flota-dev/flota/pki"
)

// TestOperatorsOnly: over TLS, an operator's certificate reads units; a
// machine's, or none, is refused with 403 saying why.
func TestOperatorsOnly(t *testing.T) {
	now := time.Now()
	ca, err := pki.NewCA("flota-ca", time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	pair := func(r pki.Request) tls.Certificate {
		t.Helper()
		r.Valid = time.Hour
		cert, key, err := ca.Issue(r, now)
		if err != nil {
			t.Fatal(err)
		}
		return tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: key, Leaf: cert}
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	srv := httptest.NewUnstartedServer(api.OperatorsOnly(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "status of web.service")
	})))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair(pki.Request{Name: "flota-m2", Hosts: []string{"127.0.0.1"}})},
		ClientCAs: pool, ClientAuth: tls.VerifyClientCertIfGiven}
	srv.StartTLS()
	defer srv.Close()
	tests := []struct {
		name    string
		certs   []tls.Certificate
		code    int
		bodyHas string
	}{
		{"an operator's", []tls.Certificate{pair(pki.Request{Name: "operator", Operator: true})}, http.StatusOK, "status of web.service"},
		{"a machine's", []tls.Certificate{pair(pki.Request{Name: "flota-m1", Hosts: []string{"10.77.0.11"}})}, http.StatusForbidden, `"flota-m1" is not one`},
		{"none", nil, http.StatusForbidden, "no verified certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: tt.certs}}}
			resp, err := client.Get(srv.URL + "/v1/units/web.service/status")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.code || !strings.Contains(string(body), tt.bodyHas) {
				t.Errorf("%d %q, want %d with %q", resp.StatusCode, body, tt.code, tt.bodyHas)
			}
		})
	}
}
