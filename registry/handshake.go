package registry

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"
)

// ErrTLSRefused classifies an etcd endpoint whose TLS handshake with this
// client fails: the client does not trust the server's certificate, or the
// server refuses the client's (none given, another CA's, expired).
var ErrTLSRefused = errors.New("TLS refused")

// TLSRefusal says why etcd's https endpoints cannot be reached when the
// reason is TLS: the first endpoint whose handshake fails, with the
// handshake's error; nil when every one accepts this client (or none is
// https). etcd's client retries a refused handshake until the request's
// deadline and then reports only the deadline, so flotactl asks this of a
// request that found etcd unavailable. It dials each endpoint once.
func (r *Registry) TLSRefusal(ctx context.Context) error {
	for _, ep := range r.eps {
		u, err := url.Parse(ep)
		if err != nil || u.Scheme != "https" {
			continue
		}
		if err := handshake(ctx, u.Host, r.tls); err != nil {
			return fmt.Errorf("%w by etcd at %s: %w", ErrTLSRefused, ep, err)
		}
	}
	return nil
}

// handshake dials host and completes a TLS handshake with cfg (the
// system's roots when nil), then reads briefly: under TLS 1.3 a server
// that refuses the client's certificate says so only after the client's
// side of the handshake is done. An accepted client hears nothing (the
// server waits for HTTP/2's preface), and the read times out.
func handshake(ctx context.Context, host string, cfg *tls.Config) error {
	if cfg == nil {
		cfg = &tls.Config{}
	}
	cfg = cfg.Clone()
	if h, _, err := net.SplitHostPort(host); err == nil && cfg.ServerName == "" {
		cfg.ServerName = h
	}
	cfg.NextProtos = []string{"h2"}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	conn, err := (&tls.Dialer{Config: cfg}).DialContext(ctx, "tcp", host)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return nil // not TLS's doing: the caller's error says unreachable
		}
		return err
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	var b [1]byte
	_, err = conn.Read(b[:])
	var ne net.Error
	if err == nil || errors.As(err, &ne) && ne.Timeout() {
		return nil
	}
	return err
}
