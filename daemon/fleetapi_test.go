package daemon

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFleetAPIListener(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, spec, err string }{
		{"off", "off", ""},
		{"tcp without TLS", "tcp://127.0.0.1:0", "serving the API over TCP needs TLS with client certificates"},
		{"a file in the way", "unix://" + file, "exists and is not a socket"},
		{"another scheme", "http://127.0.0.1:80", `want unix:///PATH, tcp://HOST:PORT or off`},
		{"the default, in --data-dir", "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l, _, err := fleetAPIListener(&Config{API: tt.spec, DataDir: dir}, http.NotFoundHandler(), nil)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if l != nil {
				defer l.Close()
				if l.Addr().String() != filepath.Join(dir, "flota.sock") {
					t.Errorf("listens on %s", l.Addr())
				}
			}
		})
	}
}
