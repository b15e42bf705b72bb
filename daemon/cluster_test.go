package daemon

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flota-dev/flota/registry/registrytest"
)

// TestConfigEmbeddedEtcd checks the flags of the embedded member: their
// defaults (one member, as before they existed), each from the command
// line, the environment and the config file, the former --listen-peer-url,
// and that they are refused on a flotad that runs no embedded etcd.
func TestConfigEmbeddedEtcd(t *testing.T) {
	const cluster = "cp1=http://10.0.0.1:2380,cp2=http://10.0.0.2:2380,cp3=http://10.0.0.3:2380"
	conf := writeConf(t, "etcd_name=cp2\ninitial-cluster="+cluster+"\ninitial-cluster-state=existing\nlisten-peer-url=http://10.0.0.2:2380\n")
	type want struct {
		name, cluster, state, token string
		peers, advClients, advPeers []string
	}
	defaults := want{"", "", "new", "flota", []string{"http://127.0.0.1:2380"}, nil, nil}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want want
	}{
		{"defaults: one member on loopback", nil, nil, defaults},
		{"flags", []string{"--etcd-name=cp1", "--initial-cluster=" + cluster, "--initial-cluster-token=prod",
			"--listen-peer-urls=http://0.0.0.0:2380", "--advertise-client-urls=http://10.0.0.1:2379", "--initial-advertise-peer-urls=http://10.0.0.1:2380"}, nil,
			want{"cp1", cluster, "new", "prod", []string{"http://0.0.0.0:2380"}, []string{"http://10.0.0.1:2379"}, []string{"http://10.0.0.1:2380"}}},
		{"environment", nil, map[string]string{"FLOTA_ETCD_NAME": "cp3", "FLOTA_INITIAL_CLUSTER": cluster, "FLOTA_INITIAL_CLUSTER_STATE": "existing",
			"FLOTA_LISTEN_PEER_URLS": "http://10.0.0.3:2380,http://127.0.0.1:2380"},
			want{"cp3", cluster, "existing", "flota", []string{"http://10.0.0.3:2380", "http://127.0.0.1:2380"}, nil, nil}},
		{"config file, with the former --listen-peer-url", []string{"--config=" + conf}, nil,
			want{"cp2", cluster, "existing", "flota", []string{"http://10.0.0.2:2380"}, nil, nil}},
		{"the former --listen-peer-url on the command line", []string{"--listen-peer-url=http://10.0.0.1:2380"}, nil,
			want{"", "", "new", "flota", []string{"http://10.0.0.1:2380"}, nil, nil}},
		{"the former FLOTA_LISTEN_PEER_URL", nil, map[string]string{"FLOTA_LISTEN_PEER_URL": "http://10.0.0.1:2380"},
			want{"", "", "new", "flota", []string{"http://10.0.0.1:2380"}, nil, nil}},
		{"the new name's variable beats the former's", nil,
			map[string]string{"FLOTA_LISTEN_PEER_URL": "http://10.0.0.1:2380", "FLOTA_LISTEN_PEER_URLS": "http://10.0.0.9:2380"},
			want{"", "", "new", "flota", []string{"http://10.0.0.9:2380"}, nil, nil}},
		{"a flag beats the former name's variable", []string{"--listen-peer-urls=http://10.0.0.9:2380"},
			map[string]string{"FLOTA_LISTEN_PEER_URL": "http://10.0.0.1:2380"},
			want{"", "", "new", "flota", []string{"http://10.0.0.9:2380"}, nil, nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := parse(tt.args, envOf(tt.env), io.Discard)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			got := want{c.EtcdName, c.InitialCluster, c.InitialClusterState, c.InitialClusterToken, c.PeerURLs, c.AdvertiseClientURLs, c.AdvertisePeerURLs}
			if got.name != tt.want.name || got.cluster != tt.want.cluster || got.state != tt.want.state || got.token != tt.want.token ||
				!slices.Equal(got.peers, tt.want.peers) || !slices.Equal(got.advClients, tt.want.advClients) || !slices.Equal(got.advPeers, tt.want.advPeers) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}

	t.Run("a bad former variable is reported under its own name", func(t *testing.T) {
		_, _, err := parse(nil, envOf(map[string]string{"FLOTA_LISTEN_PEER_URL": `"a`}), io.Discard)
		if err == nil || !strings.HasPrefix(err.Error(), "environment variable FLOTA_LISTEN_PEER_URL: ") {
			t.Errorf("err %v, want it to name FLOTA_LISTEN_PEER_URL", err)
		}
	})
	t.Run("--help shows the new name only", func(t *testing.T) {
		var out bytes.Buffer
		parse([]string{"--help"}, envOf(nil), &out)
		if h := out.String(); !strings.Contains(h, "--listen-peer-urls strings") || strings.Contains(h, "--listen-peer-url string") {
			t.Errorf("help:\n%s", h)
		}
	})
}

// TestMainEmbeddedEtcdErrors checks that bad settings of the embedded member
// stop flotad before it starts anything, with the flag and the value.
func TestMainEmbeddedEtcdErrors(t *testing.T) {
	const cluster = "cp1=http://127.0.0.1:12380,cp2=http://127.0.0.1:12381,cp3=http://127.0.0.1:12382"
	member := func(t *testing.T, extra ...string) []string {
		return append([]string{"--machine-id=m1", "--data-dir=" + filepath.Join(t.TempDir(), "data"),
			"--listen-client-urls=http://127.0.0.1:12379", "--listen-peer-urls=http://127.0.0.1:12380"}, extra...)
	}
	tests := []struct {
		name   string
		args   func(t *testing.T) []string
		env    map[string]string
		code   int
		stderr string
	}{
		{"state neither new nor existing", func(t *testing.T) []string {
			return member(t, "--etcd-name=cp1", "--initial-cluster="+cluster, "--initial-cluster-state=old")
		}, nil, 1, "flotad: invalid --initial-cluster-state \"old\": want new or existing\n"},
		{"this member missing from the initial cluster, named after the machine", func(t *testing.T) []string {
			return member(t, "--initial-cluster="+cluster)
		}, nil, 1, "flotad: invalid --initial-cluster \"" + cluster + "\": no entry for this member, \"m1\" (--etcd-name), which is the machine ID unless --etcd-name is given\n"},
		{"this member missing from the initial cluster, named", func(t *testing.T) []string {
			return member(t, "--etcd-name=cp4", "--initial-cluster="+cluster)
		}, nil, 1, "flotad: invalid --initial-cluster \"" + cluster + "\": no entry for this member, \"cp4\" (--etcd-name)\n"},
		{"its peer URL not the one the initial cluster gives it", func(t *testing.T) []string {
			return member(t, "--etcd-name=cp2", "--initial-cluster="+cluster)
		}, nil, 1, "flotad: invalid --initial-cluster \"" + cluster + "\": it puts this member, \"cp2\", at http://127.0.0.1:12381, but --initial-advertise-peer-urls is http://127.0.0.1:12380\n"},
		{"a listen URL without a port", func(t *testing.T) []string {
			return member(t, "--listen-peer-urls=http://127.0.0.1")
		}, nil, 1, "flotad: invalid --listen-peer-urls \"http://127.0.0.1\": want http://host:port\n"},
		{"a bad entry in the initial cluster", func(t *testing.T) []string {
			return member(t, "--etcd-name=cp1", "--initial-cluster=cp1=http://127.0.0.1:12380,cp2")
		}, nil, 1, "flotad: invalid --initial-cluster \"cp1=http://127.0.0.1:12380,cp2\": entry \"cp2\": want name=peerURL\n"},
		{"a cluster's member advertising 0.0.0.0, with no IP to advertise instead", func(t *testing.T) []string {
			return member(t, "--etcd-name=cp1", "--initial-cluster=cp1=http://127.0.0.1:12380,cp2=http://127.0.0.1:12381",
				"--listen-client-urls=http://0.0.0.0:12379", "--public-ip=0.0.0.0")
		}, nil, 1, "flotad: invalid --advertise-client-urls \"http://0.0.0.0:12379\": the other members cannot reach 0.0.0.0; advertise an address of this machine\n"},
		{"--etcd-join with --initial-cluster", func(t *testing.T) []string {
			return member(t, "--etcd-name=cp1", "--initial-cluster="+cluster, "--etcd-join=http://127.0.0.1:12389")
		}, nil, 1, "flotad: invalid --etcd-join: not with --initial-cluster: a member that joins takes the membership from the cluster\n"},
		{"--etcd-join URL without a port", func(t *testing.T) []string {
			return member(t, "--etcd-join=http://127.0.0.1")
		}, map[string]string{}, 1, "flotad: invalid --etcd-join \"http://127.0.0.1\": want http://host:port\n"},
		{"a member's flag beside --etcd-endpoints", func(t *testing.T) []string {
			return []string{"--etcd-endpoints=http://10.0.0.1:2379", "--initial-cluster=" + cluster}
		}, nil, 2, "flotad: --initial-cluster configures the embedded etcd, which flotad runs only without --etcd-endpoints\n"},
		{"a member's variable beside --etcd-endpoints", func(t *testing.T) []string {
			return []string{"--etcd-endpoints=http://10.0.0.1:2379"}
		}, map[string]string{"FLOTA_ETCD_NAME": "cp1"}, 2, "flotad: --etcd-name configures the embedded etcd, which flotad runs only without --etcd-endpoints\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args(t)
			var stderr bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			code := Main(ctx, args, envOf(tt.env), io.Discard, &stderr)
			if code != tt.code || stderr.String() != tt.stderr {
				t.Errorf("exit %d, stderr %q\nwant exit %d, stderr %q", code, stderr.String(), tt.code, tt.stderr)
			}
			// Refused before the data directory was made.
			for _, a := range args {
				if d, ok := strings.CutPrefix(a, "--data-dir="); ok {
					if _, err := os.Stat(d); err == nil {
						t.Errorf("flotad made %s before refusing its flags", d)
					}
				}
			}
		})
	}
}

// flotadProc is one flotad run in-process by Main, as a test's machine.
type flotadProc struct {
	t      *testing.T
	name   string
	args   []string
	cancel context.CancelFunc
	exited chan struct{}
	exit   int
	logs   *syncBuffer
}

func startFlotad(t *testing.T, name string, args []string) *flotadProc {
	ctx, cancel := context.WithCancel(context.Background())
	p := &flotadProc{t: t, name: name, args: args, cancel: cancel, exited: make(chan struct{}), logs: &syncBuffer{}}
	go func() {
		defer close(p.exited)
		p.exit = Main(ctx, args, func(string) string { return "" }, io.Discard, p.logs)
	}()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("%s's log:\n%s", name, p.logs.String())
		}
	})
	return p
}

// stop ends the flotad and waits for it, for at most 30s. It says how long
// that took.
func (p *flotadProc) stop() time.Duration {
	start := time.Now()
	p.cancel()
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		p.t.Errorf("%s still running 30s after its context ended", p.name)
	}
	return time.Since(start)
}

func (p *flotadProc) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// eventually retries f every 50 ms until it returns "" or within passes,
// and fails with its last word.
func eventually(t *testing.T, within time.Duration, f func() string) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		msg := f()
		if msg == "" {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("after %v: %s", within, msg)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var clusterEndpointsRE = regexp.MustCompile(`cluster_endpoints=(\S+)`)

// TestDaemonEtcdCluster runs three flotads whose embedded members form one
// etcd cluster, each with its engine and agent, and takes one, then two of
// them away: with one gone the others go on (a new engine leads, units are
// placed); with two gone the last reports etcd unavailable instead of
// serving what its member alone holds, and keeps running until a quorum
// is back.
func TestDaemonEtcdCluster(t *testing.T) {
	type machine struct {
		id, name, client, peer, data string
	}
	var ms []machine
	var initial []string
	for i := range 3 {
		m := machine{
			id:     fmt.Sprintf("%d%031x", i+1, i+1),
			name:   fmt.Sprintf("cp%d", i+1),
			client: fmt.Sprintf("http://127.0.0.1:%d", registrytest.FreePort(t)),
			peer:   fmt.Sprintf("http://127.0.0.1:%d", registrytest.FreePort(t)),
			data:   t.TempDir(),
		}
		ms = append(ms, m)
		initial = append(initial, m.name+"="+m.peer)
	}
	args := func(m machine) []string {
		return []string{
			"--machine-id=" + m.id, "--public-ip=127.0.0.1", "--systemd=false", "--agent-api=off",
			"--machine-ttl=2s", "--engine-ttl=2s",
			"--data-dir=" + m.data, "--etcd-name=" + m.name,
			"--listen-client-urls=" + m.client, "--listen-peer-urls=" + m.peer,
			"--initial-cluster=" + strings.Join(initial, ","), "--initial-cluster-token=daemon-test",
		}
	}
	procs := make([]*flotadProc, 3)
	for i, m := range ms {
		procs[i] = startFlotad(t, m.name, args(m))
	}
	var all []string
	for _, m := range ms {
		all = append(all, m.client)
	}
	endpoints := strings.Join(all, ",")
	reg := registrytest.Registry(t, all)
	machinesVia := func(endpoint string) (int, string) {
		code, out, errOut := flotactl(endpoint, "list-machines", "--no-legend", "--full")
		if code != 0 {
			return -1, errOut
		}
		return strings.Count(out, "\n"), out
	}
	// leader is the machine whose engine leads, or "".
	leader := func() string {
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		id, _ := reg.Leader(ctx)
		return id
	}

	ok := t.Run("three flotads form one cluster, each reaching every member", func(t *testing.T) {
		took := eventually(t, 30*time.Second, func() string {
			for _, m := range ms {
				if n, out := machinesVia(m.client); n != 3 {
					return fmt.Sprintf("list-machines through %s: %d machines: %s", m.name, n, out)
				}
			}
			return ""
		})
		t.Logf("three machines listed through every member %v after start", took.Round(time.Millisecond))
		// Each flotad's registry uses all three client URLs, its own first.
		eventually(t, 2*memberPoll+5*time.Second, func() string {
			for i, p := range procs {
				found := clusterEndpointsRE.FindAllStringSubmatch(p.logs.String(), -1)
				if len(found) == 0 {
					return p.name + " logged no cluster_endpoints"
				}
				eps := strings.Split(found[len(found)-1][1], ",")
				if len(eps) != 3 || eps[0] != ms[i].client {
					return fmt.Sprintf("%s uses %v, want its own %s first, then the two others", p.name, eps, ms[i].client)
				}
			}
			return ""
		})
	})
	if !ok {
		t.FailNow()
	}

	var first int // the flotad taken away first: the engine leader's
	ok = t.Run("with the engine leader's flotad stopped, another engine leads and units are placed", func(t *testing.T) {
		eventually(t, 10*time.Second, func() string {
			if leader() == "" {
				return "no engine leads"
			}
			return ""
		})
		id := leader()
		first = slices.IndexFunc(ms, func(m machine) bool { return m.id == id })
		t.Logf("stopping %s, whose engine leads, took %v", ms[first].name, procs[first].stop().Round(time.Millisecond))
		start := time.Now()
		eventually(t, 20*time.Second, func() string {
			if id := leader(); id == "" || id == ms[first].id {
				return "engine leader: " + id
			}
			return ""
		})
		t.Logf("another engine leads %v after the stop", time.Since(start).Round(time.Millisecond))
		p := filepath.Join(t.TempDir(), "hello.service")
		if err := os.WriteFile(p, []byte("[Service]\nExecStart=/bin/true\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if code, out, errOut := flotactl(endpoints, "start", "--no-block", p); code != 0 {
			t.Fatalf("start with 2 of 3 members: exit %d\nstdout: %q\nstderr: %q", code, out, errOut)
		}
		eventually(t, 20*time.Second, func() string {
			code, out, errOut := flotactl(endpoints, "list-unit-files", "--no-legend", "--full", "--fields=unit,target")
			if code != 0 || !strings.HasPrefix(out, "hello.service\t") || strings.Contains(out, ms[first].id) || strings.Contains(out, "\t-") {
				return fmt.Sprintf("list-unit-files: exit %d, %q, %q", code, out, errOut)
			}
			return ""
		})
	})
	ok = ok && t.Run("the stopped flotad restarted rejoins", func(t *testing.T) {
		procs[first] = startFlotad(t, ms[first].name, args(ms[first]))
		took := eventually(t, 30*time.Second, func() string {
			if n, out := machinesVia(ms[first].client); n != 3 {
				return fmt.Sprintf("list-machines through the restarted %s: %d machines: %s", ms[first].name, n, out)
			}
			return ""
		})
		t.Logf("restarted %s lists three machines after %v", ms[first].name, took.Round(time.Millisecond))
	})
	if !ok {
		t.FailNow()
	}

	t.Run("with two flotads stopped, the last finds etcd unavailable and keeps running until a quorum is back", func(t *testing.T) {
		last := (first + 1) % 3
		for i := range 3 {
			if i != last {
				procs[i].stop()
			}
		}
		start := time.Now()
		// flotactl waits a second per request (--request-timeout=1).
		code, out, errOut := flotactl(ms[last].client, "list-machines")
		if code == 0 || !strings.Contains(errOut, "unavailable") {
			t.Errorf("list-machines through the last member: exit %d, %q, %q; want it to fail, etcd unavailable", code, out, errOut)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("list-machines through the last member took %v", took)
		}
		// It must not exit for want of a quorum: watch its exit for a while.
		select {
		case <-procs[last].exited:
			t.Fatalf("%s exited (%d) when its member lost its quorum", ms[last].name, procs[last].exit)
		case <-time.After(3 * time.Second):
		}
		back := (last + 1) % 3
		procs[back] = startFlotad(t, ms[back].name, args(ms[back]))
		took := eventually(t, 30*time.Second, func() string {
			if n, out := machinesVia(ms[last].client); n < 2 {
				return fmt.Sprintf("list-machines through %s: %d machines: %s", ms[last].name, n, out)
			}
			return ""
		})
		t.Logf("a quorum back: %s serves again %v after %s was restarted", ms[last].name, took.Round(time.Millisecond), ms[back].name)
	})

	t.Run("stopping frees every port", func(t *testing.T) {
		for _, p := range procs {
			if d := p.stop(); p.exit != 0 {
				t.Errorf("%s exited %d (after %v)", p.name, p.exit, d)
			}
		}
		for _, m := range ms {
			for _, u := range []string{m.client, m.peer} {
				if c, err := net.DialTimeout("tcp", strings.TrimPrefix(u, "http://"), time.Second); err == nil {
					c.Close()
					t.Errorf("%s still accepts connections", u)
				}
			}
		}
	})
}

// TestDaemonEtcdJoin starts a flotad with --etcd-join beside a running
// three-member cluster: its member joins, its registry reaches all four,
// and its machine registers; restarted on its data, it joins nothing again.
func TestDaemonEtcdJoin(t *testing.T) {
	c := registrytest.NewCluster(t, 3)
	client := fmt.Sprintf("http://127.0.0.1:%d", registrytest.FreePort(t))
	args := []string{
		"--machine-id=4" + strings.Repeat("0", 31), "--public-ip=127.0.0.1", "--systemd=false", "--agent-api=off",
		"--data-dir=" + t.TempDir(), "--etcd-name=cp4",
		"--listen-client-urls=" + client, fmt.Sprintf("--listen-peer-urls=http://127.0.0.1:%d", registrytest.FreePort(t)),
		"--etcd-join=" + strings.Join(c.Endpoints(), ","),
	}
	for _, run := range []string{"first start", "restart"} {
		t.Run(run, func(t *testing.T) {
			p := startFlotad(t, "cp4", args)
			took := eventually(t, 30*time.Second, func() string {
				if !p.running() {
					t.Fatalf("flotad exited %d", p.exit)
				}
				code, out, errOut := flotactl(client, "list-machines", "--no-legend", "--full")
				if code != 0 || !strings.HasPrefix(out, "4000") {
					return fmt.Sprintf("list-machines through the joined member: exit %d, %q, %q", code, out, errOut)
				}
				return ""
			})
			t.Logf("%s: machine listed through the joined member after %v", run, took.Round(time.Millisecond))
			found := clusterEndpointsRE.FindAllStringSubmatch(p.logs.String(), -1)
			if len(found) == 0 || len(strings.Split(found[len(found)-1][1], ",")) != 4 {
				t.Errorf("cluster endpoints %v, want four", found)
			}
			p.stop()
		})
	}
}
