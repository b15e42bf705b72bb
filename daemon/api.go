package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"

	"github.com/flota-dev/flota/registry"
)

// apiServerTLS is the agent API's server TLS: c's certificate, and the
// callers' certificates required and checked against c's CA (nil when c
// names no TLS files).
func apiServerTLS(c *Config) (*tls.Config, error) {
	if c.APICertFile == "" {
		return nil, nil
	}
	info := transport.TLSInfo{CertFile: c.APICertFile, KeyFile: c.APIKeyFile, TrustedCAFile: c.APICAFile, ClientCertAuth: true}
	tc, err := info.ServerConfig()
	if err != nil {
		return nil, fmt.Errorf("agent API TLS files: %w", err)
	}
	return tc, nil
}

// apiClient is how the agent asks other machines' APIs (images): with its
// API certificate when it has one.
func apiClient(c *Config) (*http.Client, error) {
	if c.APICertFile == "" {
		return nil, nil
	}
	tc, err := registry.TLSConfig(registry.Config{CAFile: c.APICAFile, CertFile: c.APICertFile, KeyFile: c.APIKeyFile})
	if err != nil {
		return nil, err
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: tc}}, nil
}

// agentAPIPort is where the agent API listens unless told otherwise.
const agentAPIPort = "4920"

// agentAPIAddress turns --agent-api into the address to listen on and the
// URL to advertise; both are "" when the API is off. An unspecified host
// listens on every address and advertises the public IP.
func agentAPIAddress(flag, publicIP string, tls bool) (listen, advertise string, err error) {
	if flag == "off" {
		return "", "", nil
	}
	host := publicIP
	if host == "" {
		host = "127.0.0.1"
	}
	port := agentAPIPort
	if flag != "" {
		h, p, err := net.SplitHostPort(flag)
		if err != nil {
			return "", "", fmt.Errorf("--agent-api %q: want host:port or off: %w", flag, err)
		}
		port = p
		if h != "" && h != "0.0.0.0" && h != "::" {
			host = h
		}
		listen = net.JoinHostPort(h, p)
	} else {
		listen = net.JoinHostPort(host, port)
	}
	scheme := "http"
	if tls {
		scheme = "https"
	}
	return listen, scheme + "://" + net.JoinHostPort(host, port), nil
}

// serve runs an HTTP server on addr until ctx ends, over TLS when tc is
// set.
func serve(ctx context.Context, addr string, h http.Handler, tc *tls.Config) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("agent API: %w", err)
	}
	if tc != nil {
		l = tls.NewListener(l, tc)
	}
	return serveOn(ctx, "agent API", l, h)
}

// serveOn runs an HTTP server on l until ctx ends; what names it in
// errors.
func serveOn(ctx context.Context, what string, l net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	select {
	case err := <-done:
		return fmt.Errorf("%s on %s: %w", what, l.Addr(), err)
	case <-ctx.Done():
		// journal --follow streams end with their requests' contexts.
		shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		if err := srv.Shutdown(shut); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("%s shutdown: %w", what, err)
		}
		_ = srv.Close()
		return ctx.Err()
	}
}
