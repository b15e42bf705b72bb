package registry

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// EmbedConfig configures the etcd that flotad runs itself when it is given
// no endpoints, so that one machine needs nothing else.
type EmbedConfig struct {
	Dir        string   // data directory (created)
	ClientURLs []string // where clients connect, e.g. http://127.0.0.1:2379
	PeerURL    string   // e.g. http://127.0.0.1:2380
	Name       string   // member name
	// UnsafeNoFsync trades durability for speed; for tests only.
	UnsafeNoFsync bool
	// Verbose keeps etcd's own logs (errors and up) on stderr. Off, etcd is
	// silent and flotad reports what matters through its own errors: etcd
	// otherwise logs every listener it closes at shutdown as an error.
	Verbose bool
}

// Embedded is a running embedded etcd.
type Embedded struct {
	e *embed.Etcd
}

// StartEmbedded starts a single-member etcd and waits until it serves.
func StartEmbedded(ctx context.Context, c EmbedConfig) (*Embedded, error) {
	cfg := embed.NewConfig()
	cfg.Name = c.Name
	if cfg.Name == "" {
		cfg.Name = "flota"
	}
	cfg.Dir = c.Dir
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("embedded etcd: data dir: %w", err)
	}
	cfg.Dir = filepath.Clean(c.Dir)
	var err error
	if cfg.ListenClientUrls, err = parseURLs(c.ClientURLs); err != nil {
		return nil, err
	}
	cfg.AdvertiseClientUrls = cfg.ListenClientUrls
	peer, err := parseURLs([]string{c.PeerURL})
	if err != nil {
		return nil, err
	}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = peer, peer
	cfg.InitialCluster = cfg.Name + "=" + c.PeerURL
	cfg.LogLevel = "error"
	if !c.Verbose {
		cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	}
	cfg.UnsafeNoFsync = c.UnsafeNoFsync
	// Keep an hour of history for watches to resume from, then compact.
	cfg.AutoCompactionMode = "periodic"
	cfg.AutoCompactionRetention = "1h"
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, fmt.Errorf("embedded etcd in %s: %w", c.Dir, err)
	}
	select {
	case <-e.Server.ReadyNotify():
		return &Embedded{e: e}, nil
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("embedded etcd: %w", err)
	case <-time.After(60 * time.Second):
		e.Close()
		return nil, fmt.Errorf("embedded etcd in %s: not ready after 60s", c.Dir)
	case <-ctx.Done():
		e.Close()
		return nil, ctx.Err()
	}
}

// Endpoints are the client URLs the server listens on.
func (e *Embedded) Endpoints() []string {
	var out []string
	for _, l := range e.e.Clients {
		out = append(out, "http://"+l.Addr().String())
	}
	return out
}

// Err reports a fatal server error.
func (e *Embedded) Err() <-chan error { return e.e.Err() }

// Close stops the server.
func (e *Embedded) Close() { e.e.Close() }

func parseURLs(ss []string) ([]url.URL, error) {
	var out []url.URL
	for _, s := range ss {
		u, err := url.Parse(s)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("%w: URL %q", ErrInvalid, s)
		}
		out = append(out, *u)
	}
	return out, nil
}
