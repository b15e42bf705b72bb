package daemon

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	agentapi "github.com/flota-dev/flota/agent/api"
)

// fleetAPIListener opens where --api says fleet's API v1 is served:
// unix://PATH (default: flota.sock in --data-dir), a socket only root
// reaches (mode 0600: the API changes the cluster, and a unit runs as root
// on a machine), or tcp://HOST:PORT, over the agent API's TLS and for
// operators' certificates only; "off": nowhere. It returns the listener
// and the handler wrapped as that transport needs.
func fleetAPIListener(c *Config, h http.Handler, tc *tls.Config) (net.Listener, http.Handler, error) {
	spec := c.API
	if spec == "off" {
		return nil, nil, nil
	}
	if spec == "" {
		spec = "unix://" + filepath.Join(c.DataDir, "flota.sock")
	}
	switch {
	case strings.HasPrefix(spec, "unix://"):
		path := strings.TrimPrefix(spec, "unix://")
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, nil, fmt.Errorf("--api %s: %w", spec, err)
		}
		// A socket left by a flotad that died is removed; anything else
		// by that name is not ours to remove.
		if fi, err := os.Lstat(path); err == nil {
			if fi.Mode()&fs.ModeSocket == 0 {
				return nil, nil, fmt.Errorf("--api %s: %s exists and is not a socket", spec, path)
			}
			if conn, err := net.Dial("unix", path); err == nil {
				conn.Close()
				return nil, nil, fmt.Errorf("--api %s: another flotad serves there", spec)
			}
			os.Remove(path)
		}
		l, err := net.Listen("unix", path)
		if err != nil {
			return nil, nil, fmt.Errorf("--api %s: %w", spec, err)
		}
		if err := os.Chmod(path, 0o600); err != nil {
			l.Close()
			return nil, nil, fmt.Errorf("--api %s: %w", spec, err)
		}
		return l, h, nil
	case strings.HasPrefix(spec, "tcp://"):
		if tc == nil {
			return nil, nil, errors.New("--api " + spec + ": serving the API over TCP needs TLS with client certificates (--agent-api-cert-file, --agent-api-key-file, --agent-api-ca-file): it changes the cluster")
		}
		l, err := net.Listen("tcp", strings.TrimPrefix(spec, "tcp://"))
		if err != nil {
			return nil, nil, fmt.Errorf("--api %s: %w", spec, err)
		}
		return tls.NewListener(l, tc), agentapi.OperatorsOnly(h), nil
	}
	return nil, nil, fmt.Errorf("--api %q: want unix:///PATH, tcp://HOST:PORT or off", spec)
}
