package registry_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"golang.org/x/net/http2"
	"google.golang.org/grpc/codes"

	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/registry/registrytest"
	"github.com/flota-dev/flota/unit"
)

// TestEmbedConfigValidate checks that every bad setting of the embedded
// member is refused before anything starts, naming the flag and the value,
// and that the settings of a lone member and of a cluster's member pass.
func TestEmbedConfigValidate(t *testing.T) {
	const (
		p1 = "http://10.0.0.1:2380"
		p2 = "http://10.0.0.2:2380"
		p3 = "http://10.0.0.3:2380"
	)
	three := "m1=" + p1 + ",m2=" + p2 + ",m3=" + p3
	base := func() registry.EmbedConfig {
		return registry.EmbedConfig{
			Dir: "/var/lib/flota", Name: "m1",
			ClientURLs: []string{"http://10.0.0.1:2379", "http://127.0.0.1:2379"},
			PeerURLs:   []string{p1},
		}
	}
	tests := []struct {
		name    string
		edit    func(c *registry.EmbedConfig)
		members int    // for a valid config
		err     string // the error, exactly; "" for a valid config
	}{
		{"a lone member by default", func(c *registry.EmbedConfig) {}, 1, ""},
		{"a lone member without a name", func(c *registry.EmbedConfig) { c.Name = "" }, 1, ""},
		{"a lone member may listen on 0.0.0.0 and advertise it", func(c *registry.EmbedConfig) {
			c.ClientURLs = []string{"http://0.0.0.0:2379"}
			c.PeerURLs = []string{"http://0.0.0.0:2380"}
		}, 1, ""},
		{"a member of three", func(c *registry.EmbedConfig) { c.InitialCluster = three }, 3, ""},
		{"a member of three listening on 0.0.0.0, advertising its IP", func(c *registry.EmbedConfig) {
			c.InitialCluster = three
			c.ClientURLs, c.AdvertiseClientURLs = []string{"http://0.0.0.0:2379"}, []string{"http://10.0.0.1:2379"}
			c.PeerURLs, c.AdvertisePeerURLs = []string{"http://0.0.0.0:2380"}, []string{p1}
		}, 3, ""},
		{"a member with two peer URLs", func(c *registry.EmbedConfig) {
			c.PeerURLs = []string{p1, "http://10.1.0.1:2380"}
			c.InitialCluster = three + ",m1=http://10.1.0.1:2380"
		}, 3, ""},
		{"joining with --etcd-join", func(c *registry.EmbedConfig) { c.Join = []string{"http://10.0.0.2:2379"} }, 1, ""},
		{"joining a running cluster", func(c *registry.EmbedConfig) {
			c.InitialCluster, c.ClusterState = three, registry.ClusterStateExisting
		}, 3, ""},

		{"no data dir", func(c *registry.EmbedConfig) { c.Dir = "" }, 0, "invalid --data-dir: empty"},
		{"name with a comma", func(c *registry.EmbedConfig) { c.Name = "m1,m2" }, 0,
			`invalid --etcd-name "m1,m2": want a name without '=', ',' or spaces`},
		{"bad state", func(c *registry.EmbedConfig) { c.InitialCluster, c.ClusterState = three, "old" }, 0,
			`invalid --initial-cluster-state "old": want new or existing`},
		{"no client URL", func(c *registry.EmbedConfig) { c.ClientURLs = nil }, 0, "invalid --listen-client-urls: empty"},
		{"client URL without a port", func(c *registry.EmbedConfig) { c.ClientURLs = []string{"http://10.0.0.1"} }, 0,
			`invalid --listen-client-urls "http://10.0.0.1": want http://host:port`},
		{"https without the TLS files", func(c *registry.EmbedConfig) { c.PeerURLs = []string{"https://10.0.0.1:2380"} }, 0,
			`invalid --listen-peer-urls "https://10.0.0.1:2380": want http://host:port (TLS needs --etcd-server-cert-file)`},
		{"http with the TLS files", func(c *registry.EmbedConfig) {
			c.CertFile, c.KeyFile, c.TrustedCAFile = "c", "k", "ca"
			c.ClientURLs = []string{"https://10.0.0.1:2379"}
		}, 0, `invalid --listen-peer-urls "http://10.0.0.1:2380": want https://host:port (the member serves over TLS)`},
		{"half the TLS files", func(c *registry.EmbedConfig) { c.CertFile = "c" }, 0,
			`invalid --etcd-server-cert-file, --etcd-server-key-file, --etcd-server-ca-file: give all three (TLS with client certificates) or none`},
		{"a URL with a path", func(c *registry.EmbedConfig) { c.PeerURLs = []string{"http://10.0.0.1:2380/etcd"} }, 0,
			`invalid --listen-peer-urls "http://10.0.0.1:2380/etcd": want http://host:port`},
		{"listening on a host name", func(c *registry.EmbedConfig) { c.PeerURLs = []string{"http://cp1:2380"} }, 0,
			`invalid --listen-peer-urls "http://cp1:2380": want an IP address to listen on (or 0.0.0.0 for all), not a host name`},
		{"bad advertised client URL", func(c *registry.EmbedConfig) { c.AdvertiseClientURLs = []string{"10.0.0.1:2379"} }, 0,
			`invalid --advertise-client-urls "10.0.0.1:2379": want http://host:port`},
		{"a cluster's member advertising 0.0.0.0", func(c *registry.EmbedConfig) {
			c.InitialCluster = three
			c.ClientURLs = []string{"http://0.0.0.0:2379"}
		}, 0, `invalid --advertise-client-urls "http://0.0.0.0:2379": the other members cannot reach 0.0.0.0; advertise an address of this machine`},
		{"a cluster's member advertising its peer URL as 0.0.0.0", func(c *registry.EmbedConfig) {
			c.InitialCluster = "m1=http://0.0.0.0:2380,m2=" + p2
			c.PeerURLs = []string{"http://0.0.0.0:2380"}
		}, 0, `invalid --initial-advertise-peer-urls "http://0.0.0.0:2380": the other members cannot reach 0.0.0.0; advertise an address of this machine`},
		{"own name missing from the initial cluster", func(c *registry.EmbedConfig) { c.Name = "m4"; c.InitialCluster = three }, 0,
			`invalid --initial-cluster "` + three + `": no entry for this member, "m4" (--etcd-name)`},
		{"own peer URL differs from the initial cluster's", func(c *registry.EmbedConfig) {
			c.InitialCluster = three
			c.PeerURLs = []string{"http://10.0.0.9:2380"}
		}, 0, `invalid --initial-cluster "` + three + `": it puts this member, "m1", at ` + p1 + `, but --initial-advertise-peer-urls is http://10.0.0.9:2380`},
		{"entry without '='", func(c *registry.EmbedConfig) { c.InitialCluster = "m1=" + p1 + "," + p2 }, 0,
			`invalid --initial-cluster "m1=` + p1 + "," + p2 + `": entry "` + p2 + `": want name=peerURL`},
		{"entry with a bad URL", func(c *registry.EmbedConfig) { c.InitialCluster = "m1=" + p1 + ",m2=10.0.0.2:2380" }, 0,
			`invalid --initial-cluster "m1=` + p1 + `,m2=10.0.0.2:2380": entry "m2=10.0.0.2:2380": want name=http://host:port`},
		{"join with an initial cluster", func(c *registry.EmbedConfig) { c.Join = []string{"http://10.0.0.2:2379"}; c.InitialCluster = three }, 0,
			"invalid --etcd-join: not with --initial-cluster: a member that joins takes the membership from the cluster"},
		{"join URL without a scheme", func(c *registry.EmbedConfig) { c.Join = []string{"10.0.0.2:2379"} }, 0,
			`invalid --etcd-join "10.0.0.2:2379": want http://host:port`},
		{"one URL for two members", func(c *registry.EmbedConfig) { c.InitialCluster = "m1=" + p1 + ",m2=" + p1 }, 0,
			`invalid --initial-cluster "m1=` + p1 + ",m2=" + p1 + `": ` + p1 + ` is given to both "m1" and "m2"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base()
			tt.edit(&c)
			err := c.Validate()
			if tt.err == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				if got := c.Members(); got != tt.members {
					t.Errorf("Members() = %d, want %d", got, tt.members)
				}
				// flotad resolves its flags first, then starts what it got.
				r, err := c.Resolve()
				if err != nil {
					t.Fatal(err)
				}
				if again, err := r.Resolve(); err != nil || !reflect.DeepEqual(again, r) {
					t.Errorf("Resolve of its own result: %+v, %v\nwant %+v", again, err, r)
				}
				return
			}
			if err == nil || err.Error() != tt.err || !errors.Is(err, registry.ErrInvalid) {
				t.Errorf("Validate: %v\nwant ErrInvalid: %s", err, tt.err)
			}
			// StartEmbedded refuses it the same way, touching nothing.
			if c.Dir != "" {
				c.Dir = filepath.Join(t.TempDir(), "never")
			}
			if _, err := registry.StartEmbedded(t.Context(), c); err == nil || err.Error() != tt.err {
				t.Errorf("StartEmbedded: %v, want %s", err, tt.err)
			}
			if _, err := os.Stat(c.Dir); c.Dir != "" && !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("StartEmbedded made its data dir before refusing its config: %v", err)
			}
		})
	}
}

// TestEmbedConfigDefaults checks what a member advertises and bootstraps
// with when it is told only where to listen.
func TestEmbedConfigDefaults(t *testing.T) {
	tests := []struct {
		name                      string
		c                         registry.EmbedConfig
		clients, peers            []string
		initial, state, tokenWant string
	}{
		{"flotad's lone member, as without flags",
			registry.EmbedConfig{Dir: "d", ClientURLs: []string{"http://127.0.0.1:2379"}, PeerURLs: []string{"http://127.0.0.1:2380"}},
			[]string{"http://127.0.0.1:2379"}, []string{"http://127.0.0.1:2380"}, "flota=http://127.0.0.1:2380", "new", "flota"},
		{"loopback is not advertised beside an address others reach",
			registry.EmbedConfig{Dir: "d", Name: "m1", ClientURLs: []string{"http://10.0.0.1:2379", "http://127.0.0.1:2379"},
				PeerURLs: []string{"http://127.0.0.1:2380", "http://10.0.0.1:2380"}},
			[]string{"http://10.0.0.1:2379"}, []string{"http://10.0.0.1:2380"}, "m1=http://10.0.0.1:2380", "new", "flota"},
		{"0.0.0.0 is advertised as the host's IP",
			registry.EmbedConfig{Dir: "d", Name: "m1", HostIP: "10.0.0.1", ClientURLs: []string{"http://0.0.0.0:2379"}, PeerURLs: []string{"http://0.0.0.0:2380"},
				InitialCluster: "m1=http://10.0.0.1:2380,m2=http://10.0.0.2:2380,m3=http://10.0.0.3:2380", ClusterState: "existing", ClusterToken: "prod"},
			[]string{"http://10.0.0.1:2379"}, []string{"http://10.0.0.1:2380"}, "m1=http://10.0.0.1:2380,m2=http://10.0.0.2:2380,m3=http://10.0.0.3:2380", "existing", "prod"},
		{"a lone member without the host's IP advertises 0.0.0.0, as before",
			registry.EmbedConfig{Dir: "d", ClientURLs: []string{"http://0.0.0.0:2379"}, PeerURLs: []string{"http://0.0.0.0:2380"}},
			[]string{"http://0.0.0.0:2379"}, []string{"http://0.0.0.0:2380"}, "flota=http://0.0.0.0:2380", "new", "flota"},
		{"advertised URLs given are kept",
			registry.EmbedConfig{Dir: "d", Name: "m1", ClientURLs: []string{"http://0.0.0.0:2379"}, PeerURLs: []string{"http://0.0.0.0:2380"},
				AdvertiseClientURLs: []string{"http://cp1.example:2379"}, AdvertisePeerURLs: []string{"http://cp1.example:2380"}},
			[]string{"http://cp1.example:2379"}, []string{"http://cp1.example:2380"}, "m1=http://cp1.example:2380", "new", "flota"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.c.Resolve()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.AdvertiseClientURLs, tt.clients) || !slices.Equal(got.AdvertisePeerURLs, tt.peers) ||
				got.InitialCluster != tt.initial || got.ClusterState != tt.state || got.ClusterToken != tt.tokenWant {
				t.Errorf("got clients %v, peers %v, initial %q, state %q, token %q\nwant %v, %v, %q, %q, %q",
					got.AdvertiseClientURLs, got.AdvertisePeerURLs, got.InitialCluster, got.ClusterState, got.ClusterToken,
					tt.clients, tt.peers, tt.initial, tt.state, tt.tokenWant)
			}
		})
	}
}

// unavailable says whether err is etcd failing to serve a request for now.
// The registry classifies deadlines and gRPC's Unavailable as
// ErrUnavailable, but not yet the errors etcd's server sends itself while
// its cluster elects a leader ("leader changed", "request timed out"),
// which the etcd client returns as rpctypes.EtcdError of code Unavailable:
// those count here too, until registry.wrap classifies them.
func unavailable(err error) bool {
	var ee rpctypes.EtcdError
	return errors.Is(err, registry.ErrUnavailable) || (errors.As(err, &ee) && ee.Code() == codes.Unavailable)
}

// file is a unit file for the cluster tests, named after what the test
// writes it for.
func file(t *testing.T, name string) *unit.File {
	return parse(t, name, "[Service]\nExecStart=/bin/true\n")
}

// TestEmbeddedCluster forms a three-member cluster of embedded members and
// takes it through the faults a control plane must survive: one member
// lost (the etcd leader, crashed without handing over), the member back,
// then two lost.
func TestEmbeddedCluster(t *testing.T) {
	c := registrytest.NewCluster(t, 3)
	all := registrytest.Registry(t, c.Endpoints())

	ok := t.Run("three members form one cluster", func(t *testing.T) {
		// Each member lists the other two once they published their URLs.
		deadline := time.Now().Add(10 * time.Second)
		for i := range 3 {
			for {
				eps := c.Member(i).ClusterEndpoints()
				if len(eps) == 3 && eps[0] == c.Endpoint(i) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("member %d's ClusterEndpoints %v, want its own %s first, then the other two", i, eps, c.Endpoint(i))
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		if c.Leader() < 0 {
			t.Fatal("no member leads")
		}
	})
	ok = ok && t.Run("a write through one member is read through another", func(t *testing.T) {
		ctx := ctxT(t)
		r1 := registrytest.Registry(t, []string{c.Endpoint(0)})
		r3 := registrytest.Registry(t, []string{c.Endpoint(2)})
		if err := r1.CreateUnits(ctx, []*unit.File{file(t, "through-m1.service")}, registry.StateLaunched); err != nil {
			t.Fatal(err)
		}
		// Reads are linearizable: m3 answers with the write it may not
		// have applied yet, never without it.
		u, err := r3.Unit(ctx, "through-m1.service")
		if err != nil || u.Desired != registry.StateLaunched {
			t.Fatalf("read through m3: %+v, %v", u, err)
		}
	})
	if !ok {
		t.FailNow()
	}

	killed := c.Leader()
	ok = t.Run("with the etcd leader killed, a client of all members writes, reads and campaigns", func(t *testing.T) {
		ctx := ctxT(t)
		registry.KillForTest(c.Detach(killed))
		start := time.Now()
		// The first write waits for the survivors to elect a leader.
		for n := 0; ; n++ {
			wctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
			err := all.CreateUnits(wctx, []*unit.File{file(t, fmt.Sprintf("after-kill-%d.service", n))}, registry.StateLaunched)
			cancel()
			if err == nil {
				break
			}
			if !unavailable(err) {
				t.Fatalf("write %d after the kill: %v, want success or ErrUnavailable", n, err)
			}
			if time.Since(start) > 15*time.Second {
				t.Fatalf("no write succeeded 15s after the leader was killed: %v", err)
			}
		}
		t.Logf("first write after the etcd leader was killed: %v", time.Since(start).Round(time.Millisecond))
		// Writes and reads go on through the two that are left, whichever
		// endpoint the client picks.
		for n := range 10 {
			name := fmt.Sprintf("quorum-%d.service", n)
			if err := all.CreateUnits(ctx, []*unit.File{file(t, name)}, registry.StateLoaded); err != nil {
				t.Fatalf("write %s with 2 of 3 members: %v", name, err)
			}
			if u, err := all.Unit(ctx, name); err != nil || u.Desired != registry.StateLoaded {
				t.Fatalf("read %s with 2 of 3 members: %+v, %v", name, u, err)
			}
		}
		start = time.Now()
		l, err := all.Campaign(ctx, "engine-1", 2*time.Second)
		if err != nil {
			t.Fatalf("campaign with 2 of 3 members: %v", err)
		}
		t.Logf("campaign with 2 of 3 members: %v", time.Since(start).Round(time.Millisecond))
		if who, err := all.Leader(ctx); err != nil || who != "engine-1" {
			t.Errorf("Leader() = %q, %v; want engine-1", who, err)
		}
		if err := l.Resign(ctx); err != nil {
			t.Errorf("resign: %v", err)
		}
	})
	ok = ok && t.Run("the killed member restarted with state existing catches up", func(t *testing.T) {
		ctx := ctxT(t)
		start := time.Now()
		c.Restart(killed)
		t.Logf("restarted member serves after %v", time.Since(start).Round(time.Millisecond))
		// Only through the restarted member: it holds what was written
		// while it was down.
		alone := registrytest.Registry(t, []string{c.Endpoint(killed)})
		if u, err := alone.Unit(ctx, "quorum-9.service"); err != nil || u.Desired != registry.StateLoaded {
			t.Fatalf("read through the restarted member: %+v, %v", u, err)
		}
		if err := alone.CreateUnits(ctx, []*unit.File{file(t, "through-restarted.service")}, registry.StateLaunched); err != nil {
			t.Fatalf("write through the restarted member: %v", err)
		}
	})
	if !ok {
		t.FailNow()
	}

	t.Run("with two of three members down, requests fail with ErrUnavailable in bounded time", func(t *testing.T) {
		survivor := (killed + 1) % 3
		for i := range 3 {
			if i != survivor {
				c.Stop(i)
			}
		}
		// The survivor still holds every unit, but a read must not serve
		// what it alone holds: another member may have moved on.
		for _, op := range []struct {
			name string
			do   func(ctx context.Context) error
		}{
			{"write", func(ctx context.Context) error {
				return all.CreateUnits(ctx, []*unit.File{file(t, "no-quorum.service")}, registry.StateLaunched)
			}},
			{"read", func(ctx context.Context) error { _, err := all.Unit(ctx, "quorum-9.service"); return err }},
			{"campaign", func(ctx context.Context) error { _, err := all.Campaign(ctx, "engine-2", 2*time.Second); return err }},
		} {
			t.Run(op.name, func(t *testing.T) {
				const limit = 2 * time.Second
				ctx, cancel := context.WithTimeout(t.Context(), limit)
				defer cancel()
				start := time.Now()
				err := op.do(ctx)
				took := time.Since(start)
				if !errors.Is(err, registry.ErrUnavailable) {
					t.Errorf("%s with 1 of 3 members: %v, want ErrUnavailable", op.name, err)
				}
				if took > limit+time.Second {
					t.Errorf("%s with 1 of 3 members took %v, want it bounded by its %v deadline", op.name, took, limit)
				}
			})
		}
	})
}

// TestEmbeddedCloseEndsStreams checks that a member stops at once although
// a client watches through it (etcd waits up to 7 s for such streams), and
// that the watch is ended as unavailable, so the client resumes it when it
// can, rather than for good.
func TestEmbeddedCloseEndsStreams(t *testing.T) {
	c := registrytest.NewCluster(t, 3)
	ctx := ctxT(t)
	// Through the first member only, so the watch is surely on it.
	watcher, err := clientv3.New(clientv3.Config{Endpoints: []string{c.Endpoint(0)}, DialTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer watcher.Close()
	writer := registrytest.Registry(t, []string{c.Endpoint(1), c.Endpoint(2)})
	wch := watcher.Watch(clientv3.WithRequireLeader(ctx), registry.DefaultPrefix, clientv3.WithPrefix())
	next := func(what string) {
		t.Helper()
		select {
		case resp, ok := <-wch:
			if !ok || resp.Err() != nil || len(resp.Events) == 0 {
				t.Fatalf("%s: watch answered %+v, open %v", what, resp, ok)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: no event in 10s", what)
		}
	}
	if err := writer.CreateUnits(ctx, []*unit.File{file(t, "before.service")}, registry.StateLaunched); err != nil {
		t.Fatal(err)
	}
	next("a write before the member stops")

	start := time.Now()
	c.Stop(0)
	took := time.Since(start)
	t.Logf("a member with a client watching through it stopped in %v", took.Round(time.Millisecond))
	if took > 3*time.Second {
		t.Errorf("stopping a member with a watching client took %v, want under 3s", took)
	}
	select {
	case resp, ok := <-wch:
		if !ok || resp.Canceled {
			t.Fatalf("the watch ended for good when its member stopped: %+v, open %v", resp, ok)
		}
	case <-time.After(time.Second):
	}
	c.Restart(0)
	if err := writer.CreateUnits(ctx, []*unit.File{file(t, "after.service")}, registry.StateLaunched); err != nil {
		t.Fatal(err)
	}
	next("a write after the member is back")
}

// TestEmbeddedJoin adds members to a running three-member cluster with
// --etcd-join: each is added as a learner, promoted once it caught up, and
// serves what was written before it came; restarted, it is not added again;
// a member an earlier try added but that never started is not added twice.
func TestEmbeddedJoin(t *testing.T) {
	c := registrytest.NewCluster(t, 3)
	ctx := ctxT(t)
	all := registrytest.Registry(t, c.Endpoints())
	if err := all.CreateUnits(ctx, []*unit.File{file(t, "before-join.service")}, registry.StateLaunched); err != nil {
		t.Fatal(err)
	}
	admin, err := clientv3.New(clientv3.Config{Endpoints: c.Endpoints(), DialTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	// voters counts the cluster's members, failing on a learner.
	voters := func(t *testing.T) int {
		t.Helper()
		list, err := admin.MemberList(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range list.Members {
			if m.IsLearner {
				t.Errorf("member %q is still a learner", m.Name)
			}
		}
		return len(list.Members)
	}
	joiner := func(name string) registry.EmbedConfig {
		return registry.EmbedConfig{
			Name: name, Dir: t.TempDir(), UnsafeNoFsync: true,
			ClientURLs: []string{fmt.Sprintf("http://127.0.0.1:%d", registrytest.FreePort(t))},
			PeerURLs:   []string{fmt.Sprintf("http://127.0.0.1:%d", registrytest.FreePort(t))},
			Join:       c.Endpoints()[:2],
		}
	}
	m4 := joiner("m4")
	var e4 *registry.Embedded
	t.Cleanup(func() {
		if e4 != nil {
			e4.Close()
		}
	})
	ok := t.Run("a fourth member joins, votes, and serves what was written before", func(t *testing.T) {
		start := time.Now()
		var err error
		if e4, err = registry.StartEmbedded(ctx, m4); err != nil {
			t.Fatal(err)
		}
		t.Logf("joined and promoted in %v", time.Since(start).Round(time.Millisecond))
		if n := voters(t); n != 4 {
			t.Errorf("%d members, want 4", n)
		}
		alone := registrytest.Registry(t, []string{m4.ClientURLs[0]})
		if u, err := alone.Unit(ctx, "before-join.service"); err != nil || u.Desired != registry.StateLaunched {
			t.Errorf("read through the joined member: %+v, %v", u, err)
		}
	})
	ok = ok && t.Run("restarted, it rejoins without being added again", func(t *testing.T) {
		e4.Close()
		var err error
		if e4, err = registry.StartEmbedded(ctx, m4); err != nil {
			t.Fatal(err)
		}
		if n := voters(t); n != 4 {
			t.Errorf("%d members after the restart, want 4", n)
		}
	})
	ok = ok && t.Run("a member added by a try that never started it is not added twice", func(t *testing.T) {
		m5 := joiner("m5")
		if _, err := admin.MemberAddAsLearner(ctx, m5.PeerURLs); err != nil {
			t.Fatal(err)
		}
		e5, err := registry.StartEmbedded(ctx, m5)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(e5.Close)
		if n := voters(t); n != 5 {
			t.Errorf("%d members, want 5", n)
		}
	})
	t.Run("a peer URL that belongs to another member is refused", func(t *testing.T) {
		m6 := joiner("m6")
		m6.PeerURLs = c.Config(2).PeerURLs
		_, err := registry.StartEmbedded(ctx, m6)
		if !errors.Is(err, registry.ErrInvalid) || !strings.Contains(err.Error(), `the cluster has member "m3" at `+c.Config(2).PeerURLs[0]+` already`) {
			t.Errorf("err %v, want ErrInvalid naming m3", err)
		}
	})
}

// TestEmbeddedRefusesAnotherClustersDataDir checks that a data directory
// left by a lone member does not silently make a member given a
// three-member --initial-cluster a cluster of its own.
func TestEmbeddedRefusesAnotherClustersDataDir(t *testing.T) {
	lone := registry.EmbedConfig{
		Name: "m1", Dir: t.TempDir(), UnsafeNoFsync: true,
		ClientURLs: []string{fmt.Sprintf("http://127.0.0.1:%d", registrytest.FreePort(t))},
		PeerURLs:   []string{fmt.Sprintf("http://127.0.0.1:%d", registrytest.FreePort(t))},
	}
	e, err := registry.StartEmbedded(ctxT(t), lone)
	if err != nil {
		t.Fatal(err)
	}
	e.Close()
	member := lone
	member.InitialCluster = fmt.Sprintf("m1=%s,m2=http://127.0.0.1:%d,m3=http://127.0.0.1:%d", lone.PeerURLs[0], registrytest.FreePort(t), registrytest.FreePort(t))
	e, err = registry.StartEmbedded(ctxT(t), member)
	if err == nil {
		e.Close()
		t.Fatal("a member of three started on a lone member's data directory")
	}
	if !errors.Is(err, registry.ErrInvalid) || !strings.Contains(err.Error(), "move this one away") {
		t.Errorf("error %v, want ErrInvalid saying to move the directory away", err)
	}
}

// TestEmbeddedMemberWaitsForQuorum checks that a member of a new cluster
// whose peers are not up waits for them as long as its context lets it,
// then says what it was waiting for.
func TestEmbeddedMemberWaitsForQuorum(t *testing.T) {
	cfg := registry.EmbedConfig{
		Name: "m1", Dir: t.TempDir(), UnsafeNoFsync: true,
		ClientURLs: []string{fmt.Sprintf("http://127.0.0.1:%d", registrytest.FreePort(t))},
		PeerURLs:   []string{fmt.Sprintf("http://127.0.0.1:%d", registrytest.FreePort(t))},
	}
	cfg.InitialCluster = fmt.Sprintf("m1=%s,m2=http://127.0.0.1:%d,m3=http://127.0.0.1:%d", cfg.PeerURLs[0], registrytest.FreePort(t), registrytest.FreePort(t))
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	e, err := registry.StartEmbedded(ctx, cfg)
	if err == nil {
		e.Close()
		t.Fatal("a member of three served without its peers")
	}
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "waiting for a quorum of --initial-cluster") {
		t.Errorf("error %v, want the context's deadline while waiting for a quorum", err)
	}
	// It freed its ports.
	if conn, err := net.DialTimeout("tcp", strings.TrimPrefix(cfg.ClientURLs[0], "http://"), time.Second); err == nil {
		conn.Close()
		t.Errorf("%s still accepts connections", cfg.ClientURLs[0])
	}
}

// TestEmbeddedAcceptsFrequentPings sends HTTP/2 pings to the member's
// client port every 600 ms on a connection without a stream, as the
// registry's clients ping an idle connection. etcd's default policy would
// answer the third with GOAWAY too_many_pings and close the connection.
func TestEmbeddedAcceptsFrequentPings(t *testing.T) {
	u, err := url.Parse(registrytest.Etcd(t)[0])
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(http2.ClientPreface)); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(conn, conn)
	var mu sync.Mutex // the Framer's writes
	write := func(f func() error) error {
		mu.Lock()
		defer mu.Unlock()
		return f()
	}
	if err := write(func() error { return fr.WriteSettings() }); err != nil {
		t.Fatal(err)
	}
	acks := make(chan struct{}, 16)
	goaway := make(chan string, 1)
	go func() {
		for {
			f, err := fr.ReadFrame()
			if err != nil {
				return
			}
			switch f := f.(type) {
			case *http2.SettingsFrame:
				if !f.IsAck() {
					_ = write(func() error { return fr.WriteSettingsAck() })
				}
			case *http2.PingFrame:
				if f.IsAck() {
					acks <- struct{}{}
				}
			case *http2.GoAwayFrame:
				goaway <- fmt.Sprintf("%v %q", f.ErrCode, f.DebugData())
				return
			}
		}
	}()
	const pings = 6
	for i := range pings {
		if err := write(func() error { return fr.WritePing(false, [8]byte{byte(i)}) }); err != nil {
			t.Fatalf("ping %d: %v", i+1, err)
		}
		select {
		case <-acks:
		case g := <-goaway:
			t.Fatalf("ping %d answered with GOAWAY %s", i+1, g)
		case <-time.After(5 * time.Second):
			t.Fatalf("ping %d: no answer in 5s", i+1)
		}
		time.Sleep(600 * time.Millisecond)
	}
	select {
	case g := <-goaway:
		t.Fatalf("GOAWAY %s after %d pings", g, pings)
	case <-time.After(200 * time.Millisecond):
	}
}
