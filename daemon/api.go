package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// agentAPIPort is where the agent API listens unless told otherwise.
const agentAPIPort = "4920"

// agentAPIAddress turns --agent-api into the address to listen on and the
// URL to advertise; both are "" when the API is off. An unspecified host
// listens on every address and advertises the public IP.
func agentAPIAddress(flag, publicIP string) (listen, advertise string, err error) {
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
	return listen, "http://" + net.JoinHostPort(host, port), nil
}

// serve runs an HTTP server on addr until ctx ends.
func serve(ctx context.Context, addr string, h http.Handler) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("agent API: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	select {
	case err := <-done:
		return fmt.Errorf("agent API on %s: %w", addr, err)
	case <-ctx.Done():
		// journal --follow streams end with their requests' contexts.
		shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		if err := srv.Shutdown(shut); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("agent API shutdown: %w", err)
		}
		_ = srv.Close()
		return ctx.Err()
	}
}
