package registry

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"
)

// EmbedConfig configures the etcd member that flotad runs itself when it is
// given no endpoints: alone, so that one machine needs nothing else, or as
// one of the three or five members of a control plane's etcd cluster.
//
// Each field is a flotad flag, named after etcd's own, and the errors of
// Validate and StartEmbedded name the flag.
type EmbedConfig struct {
	Dir string // --data-dir (created)
	// Where the member listens: an IP (or localhost) and port, e.g.
	// http://10.0.0.1:2379. 0.0.0.0 listens on every address.
	ClientURLs []string // --listen-client-urls
	PeerURLs   []string // --listen-peer-urls
	// Where the others reach it, so never 0.0.0.0 in a cluster. Default:
	// the listen URLs, but for loopback ones when there are others (a
	// member dialing 127.0.0.1 reaches itself), and with HostIP for
	// 0.0.0.0.
	AdvertiseClientURLs []string // --advertise-client-urls
	AdvertisePeerURLs   []string // --initial-advertise-peer-urls
	HostIP              string   // this machine's address (--public-ip)
	Name                string   // --etcd-name; default "flota"
	// InitialCluster is every member at bootstrap, name=peerURL,... with
	// this member among them. Default: this member alone. etcd reads it,
	// and the three below, only while the data directory is empty: after
	// that the membership is what the cluster has agreed on.
	InitialCluster string // --initial-cluster
	ClusterState   string // --initial-cluster-state: new (default) or existing, to join a running cluster
	ClusterToken   string // --initial-cluster-token; default "flota"
	// Join is the client URLs of members of a running cluster to join
	// instead of bootstrapping one: while the data directory is empty, the
	// member is added to that cluster (as a learner, promoted once it has
	// caught up) and starts with its membership.
	Join []string // --etcd-join
	// UnsafeNoFsync trades durability for speed; for tests only.
	UnsafeNoFsync bool
	// CertFile and KeyFile, when set, serve the member's clients and peers
	// over TLS with that certificate (its URLs, and the initial cluster's,
	// are then https), and every client and peer must present a
	// certificate that TrustedCAFile signed (etcd's --client-cert-auth and
	// --peer-client-cert-auth); etcd takes a client's common name as its
	// user. The member also presents its certificate as a client: to the
	// members of --etcd-join.
	CertFile, KeyFile, TrustedCAFile string
	// Verbose keeps etcd's own logs (errors and up) on stderr. Off, etcd is
	// silent and flotad reports what matters through its own errors: etcd
	// otherwise logs every listener it closes at shutdown as an error.
	Verbose bool
}

// Cluster states, as --initial-cluster-state takes them.
const (
	ClusterStateNew      = embed.ClusterStateFlagNew
	ClusterStateExisting = embed.ClusterStateFlagExisting
)

// DefaultClusterToken is the --initial-cluster-token of a member given
// none. Members of different clusters bootstrapped with the same token and
// peer URLs could take each other for their own, so a site with several
// clusters gives each a token of its own.
const DefaultClusterToken = "flota"

// Keep-alive policy of the member's gRPC server.
//
// The registry's clients ask to ping an idle connection every second
// (KeepAliveTime), to notice a dead link in seconds rather than after TCP's
// minutes of retransmits. etcd's default policy (5 s) counts faster pings
// as abuse and, at the third, closes the connection with GOAWAY
// too_many_pings, cutting the watches and keep-alives the pings were meant
// to protect; the client then also doubles its interval. Half the clients'
// interval leaves room for a ping that arrives a little early. Pings on a
// connection without a stream are allowed too: the etcd client holds a
// connection to each member, in use or not. (gRPC-Go raises a client's
// interval to at least 10 s today; the policy still holds for any client
// that pings faster.)
//
// The server pings an idle client itself, so the streams of a client that
// vanished without a word (a crashed or cut-off machine) are released in
// seconds; etcd's default waits two hours.
const (
	serverKeepAliveMinTime  = 500 * time.Millisecond
	serverKeepAliveInterval = 10 * time.Second
	serverKeepAliveTimeout  = 5 * time.Second
)

// readyTimeout bounds how long a lone member may take to serve. A member of
// a cluster waits as long as its context allows instead: it serves only
// once a quorum of its cluster is up, which is up to the other machines.
const readyTimeout = 60 * time.Second

// Embedded is a running embedded etcd member.
type Embedded struct {
	e       *embed.Etcd
	cfg     EmbedConfig   // as resolved: defaults filled in
	closing chan struct{} // closed when Close begins
	once    sync.Once
}

// member is one name=URL of an initial cluster.
type member struct {
	name string
	url  string
}

// resolved is c with its defaults filled in and every field checked. It
// returns its errors before anything touches the disk or the network.
func (c EmbedConfig) resolved() (EmbedConfig, []member, error) {
	if c.Dir == "" {
		return c, nil, fmt.Errorf("%w --data-dir: empty", ErrInvalid)
	}
	if c.Name == "" {
		c.Name = "flota"
	}
	if strings.ContainsAny(c.Name, "=, \t\n") {
		return c, nil, fmt.Errorf("%w --etcd-name %q: want a name without '=', ',' or spaces", ErrInvalid, c.Name)
	}
	if c.ClusterToken == "" {
		c.ClusterToken = DefaultClusterToken
	}
	if (c.CertFile == "") != (c.KeyFile == "") || (c.TrustedCAFile != "" && c.CertFile == "") || (c.CertFile != "" && c.TrustedCAFile == "") {
		return c, nil, fmt.Errorf("%w --etcd-server-cert-file, --etcd-server-key-file, --etcd-server-ca-file: give all three (TLS with client certificates) or none", ErrInvalid)
	}
	switch c.ClusterState {
	case "":
		c.ClusterState = ClusterStateNew
	case ClusterStateNew, ClusterStateExisting:
	default:
		return c, nil, fmt.Errorf("%w --initial-cluster-state %q: want %s or %s", ErrInvalid, c.ClusterState, ClusterStateNew, ClusterStateExisting)
	}
	for _, f := range []struct {
		flag   string
		urls   []string
		scheme string
	}{{"--listen-client-urls", c.ClientURLs, c.scheme()}, {"--listen-peer-urls", c.PeerURLs, c.scheme()}} {
		if len(f.urls) == 0 {
			return c, nil, fmt.Errorf("%w %s: empty", ErrInvalid, f.flag)
		}
		for _, u := range f.urls {
			if _, err := checkURL(f.flag, u, true, f.scheme); err != nil {
				return c, nil, err
			}
		}
	}
	if len(c.AdvertiseClientURLs) == 0 {
		c.AdvertiseClientURLs = advertised(c.ClientURLs, c.HostIP)
	}
	if len(c.AdvertisePeerURLs) == 0 {
		c.AdvertisePeerURLs = advertised(c.PeerURLs, c.HostIP)
	}
	if len(c.Join) > 0 {
		if c.InitialCluster != "" {
			return c, nil, fmt.Errorf("%w --etcd-join: not with --initial-cluster: a member that joins takes the membership from the cluster", ErrInvalid)
		}
		for _, u := range c.Join {
			if _, err := checkURL("--etcd-join", u, false, c.scheme()); err != nil {
				return c, nil, err
			}
		}
	}
	initial := c.InitialCluster
	if initial == "" {
		initial = c.alone()
		// A member that joins learns its initial cluster from the
		// cluster: left empty, Resolve's result resolves the same again.
		if len(c.Join) == 0 {
			c.InitialCluster = initial
		}
	}
	members, err := parseInitialCluster(initial, c.scheme())
	if err != nil {
		return c, nil, err
	}
	names := map[string]bool{}
	for _, m := range members {
		names[m.name] = true
	}
	cluster := len(names) > 1
	for _, f := range []struct {
		flag   string
		urls   []string
		scheme string
	}{{"--advertise-client-urls", c.AdvertiseClientURLs, c.scheme()}, {"--initial-advertise-peer-urls", c.AdvertisePeerURLs, c.scheme()}} {
		for _, s := range f.urls {
			u, err := checkURL(f.flag, s, false, f.scheme)
			if err != nil {
				return c, nil, err
			}
			// A lone member's advertised URLs reach nobody who matters,
			// and flotad always accepted 0.0.0.0 there; in a cluster the
			// other members would dial it.
			if ip := net.ParseIP(u.Hostname()); cluster && ip != nil && ip.IsUnspecified() {
				return c, nil, fmt.Errorf("%w %s %q: the other members cannot reach %s; advertise an address of this machine", ErrInvalid, f.flag, s, u.Hostname())
			}
		}
	}
	var own []string
	for _, m := range members {
		if m.name == c.Name {
			own = append(own, m.url)
		}
	}
	if len(own) == 0 {
		return c, nil, fmt.Errorf("%w --initial-cluster %q: no entry for this member, %q (--etcd-name)", ErrInvalid, c.InitialCluster, c.Name)
	}
	if !sameURLs(own, c.AdvertisePeerURLs) {
		return c, nil, fmt.Errorf("%w --initial-cluster %q: it puts this member, %q, at %s, but --initial-advertise-peer-urls is %s",
			ErrInvalid, c.InitialCluster, c.Name, strings.Join(own, ","), strings.Join(c.AdvertisePeerURLs, ","))
	}
	return c, members, nil
}

// alone is the initial cluster of c's member by itself.
func (c EmbedConfig) alone() string {
	var parts []string
	for _, u := range c.AdvertisePeerURLs {
		parts = append(parts, c.Name+"="+u)
	}
	return strings.Join(parts, ",")
}

// Validate checks c as StartEmbedded would, without starting anything, so
// that a bad flag fails before flotad touches the disk or the network.
func (c EmbedConfig) Validate() error {
	_, _, err := c.resolved()
	return err
}

// Resolve is c with its defaults filled in, as StartEmbedded runs it.
func (c EmbedConfig) Resolve() (EmbedConfig, error) {
	c, _, err := c.resolved()
	return c, err
}

// advertised is the default advertised form of listen URLs: loopback ones
// left out when others remain, 0.0.0.0 (or ::) as host when it is known.
func advertised(listen []string, host string) []string {
	var out, loop []string
	for _, s := range listen {
		u, err := url.Parse(s)
		if err != nil {
			return listen // resolved reports it
		}
		ip := net.ParseIP(u.Hostname())
		switch {
		case u.Hostname() == "localhost" || (ip != nil && ip.IsLoopback()):
			loop = append(loop, s)
			continue
		case ip != nil && ip.IsUnspecified() && host != "":
			u.Host = net.JoinHostPort(host, u.Port())
		}
		if !slices.Contains(out, u.String()) {
			out = append(out, u.String())
		}
	}
	if len(out) == 0 {
		return loop
	}
	return out
}

// Members is the number of distinct members of c's initial cluster (1 when
// it names none), or 0 when c is invalid.
func (c EmbedConfig) Members() int {
	_, ms, err := c.resolved()
	if err != nil {
		return 0
	}
	names := map[string]bool{}
	for _, m := range ms {
		names[m.name] = true
	}
	return len(names)
}

// parseInitialCluster reads name=URL,name=URL,... A name may repeat, for a
// member with several peer URLs.
func parseInitialCluster(s, scheme string) ([]member, error) {
	var out []member
	byURL := map[string]string{}
	for _, entry := range strings.Split(s, ",") {
		name, u, ok := strings.Cut(strings.TrimSpace(entry), "=")
		if !ok || name == "" || u == "" {
			return nil, fmt.Errorf("%w --initial-cluster %q: entry %q: want name=peerURL", ErrInvalid, s, entry)
		}
		if _, err := checkURL("--initial-cluster", u, false, scheme); err != nil {
			return nil, fmt.Errorf("%w --initial-cluster %q: entry %q: want name=%s://host:port", ErrInvalid, s, entry, scheme)
		}
		if other, dup := byURL[u]; dup {
			return nil, fmt.Errorf("%w --initial-cluster %q: %s is given to both %q and %q", ErrInvalid, s, u, other, name)
		}
		byURL[u] = name
		out = append(out, member{name, u})
	}
	return out, nil
}

// checkURL parses one URL of flag: of scheme (https for the client URLs
// of a member with TLS files, else http), a host and a port, nothing else; a URL to listen on needs an IP (or
// localhost), as etcd binds the address itself.
func checkURL(flag, s string, listen bool, scheme string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != scheme || u.Host == "" || u.Port() == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		why := ""
		switch {
		case err == nil && scheme == "https" && u.Scheme == "http":
			why = " (the member serves over TLS)"
		case err == nil && scheme == "http" && u.Scheme == "https":
			why = " (TLS needs --etcd-server-cert-file)"
		}
		return nil, fmt.Errorf("%w %s %q: want %s://host:port%s", ErrInvalid, flag, s, scheme, why)
	}
	if listen && u.Hostname() != "localhost" && net.ParseIP(u.Hostname()) == nil {
		return nil, fmt.Errorf("%w %s %q: want an IP address to listen on (or 0.0.0.0 for all), not a host name", ErrInvalid, flag, s)
	}
	return u, nil
}

// tlsInfo is the member's TLS, for its clients and its peers alike.
func (c EmbedConfig) tlsInfo() transport.TLSInfo {
	return transport.TLSInfo{CertFile: c.CertFile, KeyFile: c.KeyFile, TrustedCAFile: c.TrustedCAFile, ClientCertAuth: true}
}

// scheme is the scheme of the member's client and peer URLs.
func (c EmbedConfig) scheme() string {
	if c.CertFile != "" {
		return "https"
	}
	return "http"
}

// sameURLs compares two lists of URLs as sets.
func sameURLs(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

// StartEmbedded starts an etcd member and waits until it serves. A lone
// member serves at once (within a minute, or it fails); a member of a
// cluster serves once a quorum of its cluster is up, and waits for it until
// ctx ends; a member that joins a cluster returns once it votes.
func StartEmbedded(ctx context.Context, c EmbedConfig) (*Embedded, error) {
	c, members, err := c.resolved()
	if err != nil {
		return nil, err
	}
	if len(c.Join) > 0 && !hasMember(c.Dir) {
		if c, err = joinCluster(ctx, c); err != nil {
			return nil, err
		}
		if members, err = parseInitialCluster(c.InitialCluster, c.scheme()); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("embedded etcd: data dir: %w", err)
	}
	cfg := embed.NewConfig()
	cfg.Name = c.Name
	cfg.Dir = filepath.Clean(c.Dir)
	// Every URL was checked by resolved: these parse.
	cfg.ListenClientUrls = mustURLs(c.ClientURLs)
	cfg.ListenPeerUrls = mustURLs(c.PeerURLs)
	cfg.AdvertiseClientUrls = mustURLs(c.AdvertiseClientURLs)
	cfg.AdvertisePeerUrls = mustURLs(c.AdvertisePeerURLs)
	cfg.InitialCluster = c.InitialCluster
	if cfg.InitialCluster == "" {
		// A joined member restarting on its data: etcd reads none.
		cfg.InitialCluster = c.alone()
	}
	cfg.ClusterState = c.ClusterState
	cfg.InitialClusterToken = c.ClusterToken
	cfg.GRPCKeepAliveMinTime = serverKeepAliveMinTime
	cfg.GRPCKeepAliveInterval = serverKeepAliveInterval
	cfg.GRPCKeepAliveTimeout = serverKeepAliveTimeout
	closing := make(chan struct{})
	// etcd sets PermitWithoutStream false and offers no field for it; its
	// additional options come last and win.
	cfg.GRPCAdditionalServerOptions = []grpc.ServerOption{
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: serverKeepAliveMinTime, PermitWithoutStream: true}),
		grpc.ChainStreamInterceptor(endStreamsOnClose(closing)),
	}
	cfg.LogLevel = "error"
	if !c.Verbose {
		cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	}
	if c.CertFile != "" {
		cfg.ClientTLSInfo = c.tlsInfo()
		cfg.PeerTLSInfo = c.tlsInfo()
	}
	cfg.UnsafeNoFsync = c.UnsafeNoFsync
	// Keep an hour of history for watches to resume from, then compact.
	cfg.AutoCompactionMode = "periodic"
	cfg.AutoCompactionRetention = "1h"
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, fmt.Errorf("embedded etcd in %s: %w", c.Dir, err)
	}
	emb := &Embedded{e: e, cfg: c, closing: closing}
	if err := emb.waitReady(ctx, len(members) > 1 || len(c.Join) > 0); err != nil {
		// etcd's Close waits for the client servers, which start only
		// once the member is ready: stopping the member first ends that
		// wait (else a flotad stopped while waiting for a quorum hangs).
		e.Server.HardStop()
		emb.Close()
		return nil, err
	}
	if err := emb.checkMembership(members); err != nil {
		emb.Close()
		return nil, err
	}
	if len(c.Join) > 0 {
		if err := emb.promote(ctx); err != nil {
			emb.Close()
			return nil, err
		}
	}
	return emb, nil
}

func (e *Embedded) waitReady(ctx context.Context, cluster bool) error {
	var timeout <-chan time.Time
	if !cluster {
		t := time.NewTimer(readyTimeout)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-e.e.Server.ReadyNotify():
		return nil
	case err := <-e.e.Err():
		return fmt.Errorf("embedded etcd: %w", err)
	case <-timeout:
		return fmt.Errorf("embedded etcd in %s: %w: not ready after %s", e.cfg.Dir, ErrUnavailable, readyTimeout)
	case <-ctx.Done():
		return fmt.Errorf("embedded etcd member %s: waiting for a quorum of --initial-cluster: %w", e.cfg.Name, ctx.Err())
	}
}

// checkMembership refuses a data directory that holds another cluster than
// the one --initial-cluster names. etcd reads --initial-cluster only to
// bootstrap, so a directory left by a lone flotad would silently make this
// member a cluster of its own, apart from the others it was meant to join.
func (e *Embedded) checkMembership(initial []member) error {
	others := map[string]bool{}
	for _, m := range initial {
		if m.name != e.cfg.Name {
			others[m.name] = true
			others[m.url] = true
		}
	}
	if len(others) == 0 {
		return nil
	}
	for _, m := range e.e.Server.Cluster().Members() {
		if others[m.Name] {
			return nil
		}
		for _, u := range m.PeerURLs {
			if others[u] {
				return nil
			}
		}
	}
	return fmt.Errorf("%w: embedded etcd in %s: the data directory holds a cluster without any other member of --initial-cluster %q (etcd reads --initial-cluster only into an empty directory; move this one away to join)",
		ErrInvalid, e.cfg.Dir, e.cfg.InitialCluster)
}

func mustURLs(ss []string) []url.URL {
	out := make([]url.URL, 0, len(ss))
	for _, s := range ss {
		u, err := url.Parse(s)
		if err != nil {
			panic(err)
		}
		out = append(out, *u)
	}
	return out
}

// Endpoints are the client URLs the server listens on.
func (e *Embedded) Endpoints() []string {
	var out []string
	for _, l := range e.e.Clients {
		out = append(out, e.cfg.scheme()+"://"+l.Addr().String())
	}
	return out
}

// ClusterEndpoints are the client URLs of every voting member: this one's
// first, where it listens (0.0.0.0 as loopback), then the others' as they
// advertise them, by name. A learner is left out: it serves no requests.
//
// A client given them all reaches the cluster through whichever member
// answers, and when this member is cut off from its quorum it finds the
// others unreachable too, so it reports etcd unavailable rather than read
// what this member alone still holds. A member that has not started since
// the cluster was bootstrapped has published no URL yet, so the list can
// grow: call it again.
func (e *Embedded) ClusterEndpoints() []string {
	var out []string
	for _, l := range e.e.Clients {
		addr := l.Addr().(*net.TCPAddr)
		ip := addr.IP
		if ip.IsUnspecified() {
			ip = net.IPv6loopback
			if ip4 := addr.IP.To4(); ip4 != nil {
				ip = net.IPv4(127, 0, 0, 1)
			}
		}
		out = append(out, e.cfg.scheme()+"://"+net.JoinHostPort(ip.String(), fmt.Sprint(addr.Port)))
	}
	self := e.e.Server.MemberID()
	members := e.e.Server.Cluster().Members()
	sort.Slice(members, func(i, j int) bool { return members[i].Name < members[j].Name })
	for _, m := range members {
		if m.ID == self || m.IsLearner {
			continue
		}
		for _, u := range m.ClientURLs {
			if !slices.Contains(out, u) {
				out = append(out, u)
			}
		}
	}
	return out
}

// Name is the member's name.
func (e *Embedded) Name() string { return e.cfg.Name }

// IsLeader says whether this member leads the etcd cluster now.
func (e *Embedded) IsLeader() bool {
	return e.e.Server.Leader() == e.e.Server.MemberID()
}

// Err reports a fatal server error, such as this member having been removed
// from its cluster.
func (e *Embedded) Err() <-chan error { return e.e.Err() }

// Close stops the member. A leader first hands its leadership to another
// member, so the cluster does not wait out an election timeout. Clients'
// watches and keep-alives through it end at once, as unavailable, so that
// they go on through another member. Closing it again does nothing.
func (e *Embedded) Close() {
	e.once.Do(func() {
		close(e.closing)
		e.e.Close()
	})
}

// endStreamsOnClose ends every stream (watches, lease keep-alives) when
// closing is closed. etcd's own stop waits for its streams to end, up to
// its request timeout (7 s): a client's watch never ends by itself, so a
// member with other machines' flotads connected took 8 s to stop. The
// stream ends as Unavailable, which tells the client to resume it through
// another member; a canceled one would end the client's watch for good.
func endStreamsOnClose(closing <-chan struct{}) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, cancel := context.WithCancel(ss.Context())
		defer cancel()
		ended := make(chan struct{})
		go func() {
			select {
			case <-closing:
				close(ended)
				cancel()
			case <-ctx.Done():
			}
		}()
		err := handler(srv, streamWithContext{ss, ctx})
		select {
		case <-ended:
			return status.Error(codes.Unavailable, "etcd member stopping")
		default:
			return err
		}
	}
}

// streamWithContext is a server stream whose handler sees ctx.
type streamWithContext struct {
	grpc.ServerStream
	ctx context.Context
}

func (s streamWithContext) Context() context.Context { return s.ctx }
