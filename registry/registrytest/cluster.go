package registrytest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flota-dev/flota/registry"
)

// Cluster is an etcd cluster of embedded members on loopback, each with
// ports and a data directory of its own, as the members of a control plane
// run in separate flotads.
type Cluster struct {
	t       testing.TB
	configs []registry.EmbedConfig
	mu      sync.Mutex
	members []*registry.Embedded // nil while stopped
}

// NewCluster starts n members that bootstrap one cluster together, and
// waits until every one serves. They are stopped when t ends.
func NewCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	return newCluster(t, n, registry.EmbedConfig{})
}

// NewClusterTLS is NewCluster with the members serving clients and peers
// over TLS with tls's CertFile, KeyFile and TrustedCAFile (a certificate
// for 127.0.0.1).
func NewClusterTLS(t testing.TB, n int, tls registry.EmbedConfig) *Cluster {
	t.Helper()
	return newCluster(t, n, tls)
}

func newCluster(t testing.TB, n int, tls registry.EmbedConfig) *Cluster {
	t.Helper()
	c := &Cluster{t: t, members: make([]*registry.Embedded, n)}
	scheme := "http"
	if tls.CertFile != "" {
		scheme = "https"
	}
	var initial []string
	for i := range n {
		cfg := registry.EmbedConfig{
			Name:          fmt.Sprintf("m%d", i+1),
			Dir:           t.TempDir(),
			ClientURLs:    []string{fmt.Sprintf("%s://127.0.0.1:%d", scheme, FreePort(t))},
			PeerURLs:      []string{fmt.Sprintf("%s://127.0.0.1:%d", scheme, FreePort(t))},
			UnsafeNoFsync: true,
			CertFile:      tls.CertFile, KeyFile: tls.KeyFile, TrustedCAFile: tls.TrustedCAFile,
		}
		initial = append(initial, cfg.Name+"="+cfg.PeerURLs[0])
		c.configs = append(c.configs, cfg)
	}
	for i := range c.configs {
		c.configs[i].InitialCluster = strings.Join(initial, ",")
	}
	t.Cleanup(func() {
		for i := range c.members {
			c.Stop(i)
		}
	})
	// Members of a new cluster wait for each other: start them together.
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.start(i)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("start member %s: %v", c.configs[i].Name, err)
		}
	}
	return c
}

func (c *Cluster) start(i int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	e, err := registry.StartEmbedded(ctx, c.configs[i])
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.members[i] = e
	c.mu.Unlock()
	return nil
}

// Config is member i's configuration.
func (c *Cluster) Config(i int) registry.EmbedConfig { return c.configs[i] }

// Member is member i, or nil while it is stopped.
func (c *Cluster) Member(i int) *registry.Embedded {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.members[i]
}

// Endpoint is member i's client URL, running or not.
func (c *Cluster) Endpoint(i int) string { return c.configs[i].ClientURLs[0] }

// Endpoints are every member's client URL.
func (c *Cluster) Endpoints() []string {
	var out []string
	for i := range c.configs {
		out = append(out, c.Endpoint(i))
	}
	return out
}

// Leader is the index of the member that leads now, or -1.
func (c *Cluster) Leader() int {
	for i := range c.configs {
		if m := c.Member(i); m != nil && m.IsLeader() {
			return i
		}
	}
	return -1
}

// Stop closes member i (a leader hands its leadership over first), if it
// runs.
func (c *Cluster) Stop(i int) {
	if e := c.Detach(i); e != nil {
		e.Close()
	}
}

// Detach hands member i over to the caller, who stops it as the test needs
// (a crash, say); the Cluster counts it as stopped. Nil if it is stopped.
func (c *Cluster) Detach(i int) *registry.Embedded {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.members[i]
	c.members[i] = nil
	return e
}

// Restart starts member i again on its data directory and ports, as a
// member rejoining the cluster it left: with state existing.
func (c *Cluster) Restart(i int) {
	c.t.Helper()
	c.configs[i].ClusterState = registry.ClusterStateExisting
	if err := c.start(i); err != nil {
		c.t.Fatalf("restart member %s: %v", c.configs[i].Name, err)
	}
}
