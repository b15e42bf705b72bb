// Package registrytest starts a real etcd for tests: the embedded server on
// loopback ports of its own, in the test's temporary directory. Integration
// tests use it; nothing here fakes etcd.
package registrytest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/flota-dev/flota/registry"
)

// Etcd starts an embedded etcd for t and returns its client endpoints. It is
// stopped when t ends.
func Etcd(t testing.TB) []string {
	t.Helper()
	client, peer := FreePort(t), FreePort(t)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	e, err := registry.StartEmbedded(ctx, registry.EmbedConfig{
		Dir:        t.TempDir(),
		ClientURLs: []string{fmt.Sprintf("http://127.0.0.1:%d", client)},
		PeerURLs:   []string{fmt.Sprintf("http://127.0.0.1:%d", peer)},
	})
	if err != nil {
		t.Fatalf("start embedded etcd: %v", err)
	}
	t.Cleanup(e.Close)
	return e.Endpoints()
}

// Registry connects a Registry to endpoints with a prefix of its own.
func Registry(t testing.TB, endpoints []string) *registry.Registry {
	t.Helper()
	r, err := registry.Connect(registry.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}
