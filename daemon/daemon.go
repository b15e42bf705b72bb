package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/spf13/pflag"

	"github.com/flota-dev/flota/agent"
	agentapi "github.com/flota-dev/flota/agent/api"
	"github.com/flota-dev/flota/agent/runtime"
	"github.com/flota-dev/flota/agent/subvol"
	"github.com/flota-dev/flota/agent/systemd"
	"github.com/flota-dev/flota/clusterapi"
	"github.com/flota-dev/flota/dashboard"
	"github.com/flota-dev/flota/engine"
	"github.com/flota-dev/flota/fleetapi"
	"github.com/flota-dev/flota/metrics"
	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/unit"
)

// Version is flotad's version. It is set at link time
// (-ldflags "-X github.com/flota-dev/flota/daemon.Version=1.2.3") and never
// changed at run time.
var Version = "0.1.0-dev"

// Main runs flotad with args until ctx ends and returns its exit code.
func Main(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) int {
	c, _, err := parse(args, env, stderr)
	if errors.Is(err, pflag.ErrHelp) {
		return 0
	}
	if err == nil && c.ShowVersion {
		fmt.Fprintf(stdout, "flotad version %s\n", Version)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "flotad: %v\n", err)
		return 2
	}
	log, err := newLogger(c.LogLevel, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "flotad: %v\n", err)
		return 2
	}
	if err := run(ctx, c, log); err != nil && ctx.Err() == nil {
		fmt.Fprintf(stderr, "flotad: %v\n", err)
		return 1
	}
	return 0
}

func newLogger(level string, w io.Writer) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// run wires the parts, one stage a step.
func run(ctx context.Context, c *Config, log *slog.Logger) error {
	// Who this machine is, before touching etcd: a bad ID fails fast.
	id := c.MachineID
	if id == "" {
		var err error
		if id, err = agent.MachineID(c.MachineIDFile); err != nil {
			return err
		}
	}
	if err := checkMachineID(id); err != nil {
		return err
	}
	metadata, err := agent.ParseMetadata(c.Metadata)
	if err != nil {
		return fmt.Errorf("--metadata: %w", err)
	}
	disconnect, err := unit.ParseDisconnect(c.OnDisconnect)
	if err != nil {
		return fmt.Errorf("--on-disconnect %q: %w", c.OnDisconnect, err)
	}
	if c.StopMargin < 0 {
		return fmt.Errorf("--stop-margin %v: want a duration of 0 or more", c.StopMargin)
	}
	ip := c.PublicIP
	if ip == "" {
		ip = agent.PublicIP()
	}
	// The embedded etcd member's flags, before anything starts.
	var member registry.EmbedConfig
	if len(c.EtcdEndpoints) == 0 {
		if member, err = embedConfig(c, id, ip); err != nil {
			return err
		}
	}
	if c.ServeImages != "" {
		if err := checkServeDir(c.ServeImages); err != nil {
			return err
		}
	}
	// Its series, for /metrics: the engine's, the agent's and its systemd
	// calls', beside the embedded etcd's and the process's.
	m := metrics.New(Version)
	// systemd too, before etcd: an agent that cannot run units fails fast.
	var sd agent.Systemd
	if c.Agent && c.Systemd {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		conn, err := systemd.Connect(cctx, "", systemd.Config{Dir: c.UnitDir})
		cancel()
		if err != nil {
			return fmt.Errorf("%w (--systemd=false runs the agent without units)", err)
		}
		defer conn.Close()
		sd = m.Systemd(conn)
	}
	// Containers, with systemd: the image store, volumes and their source.
	var containers agent.ContainerRuntime
	if sd != nil {
		rt, err := openContainers(ctx, c, log)
		if err != nil {
			return err
		}
		if rt != nil {
			defer rt.Close()
			containers = rt
		}
	}

	// etcd: the cluster's, or our own embedded member.
	endpoints := c.EtcdEndpoints
	var emb *registry.Embedded
	if len(endpoints) == 0 {
		switch {
		case len(member.Join) > 0:
			log.Info("embedded etcd member starting: it joins the cluster at --etcd-join unless --data-dir holds its data, and serves once it votes",
				"name", member.Name, "join", strings.Join(member.Join, ","))
		case member.Members() > 1:
			log.Info("embedded etcd member starting: it serves once a quorum of its cluster is up",
				"name", member.Name, "initial_cluster", member.InitialCluster, "state", member.ClusterState)
		}
		if emb, err = registry.StartEmbedded(ctx, member); err != nil {
			return err
		}
		defer emb.Close()
		// Every member's client URL, so that this flotad reaches the
		// cluster through any member that answers, and finds etcd
		// unavailable, never stale, when its own is cut off.
		endpoints = emb.ClusterEndpoints()
		log.Info("embedded etcd serving", "endpoints", strings.Join(emb.Endpoints(), ","), "data_dir", c.DataDir,
			"name", member.Name, "cluster_endpoints", strings.Join(endpoints, ","))
	}
	ca, cert, key := c.EtcdCAFile, c.EtcdCertFile, c.EtcdKeyFile
	if emb != nil && c.EtcdServerCertFile != "" && cert == "" {
		// Our own member asks for a client certificate: the member's own
		// serves (pki makes every certificate a client's too).
		ca, cert, key = c.EtcdServerCAFile, c.EtcdServerCertFile, c.EtcdServerKeyFile
	}
	reg, err := registry.Connect(registry.Config{
		Endpoints: endpoints, Prefix: c.EtcdPrefix,
		CAFile: ca, CertFile: cert, KeyFile: key,
	})
	if err != nil {
		return err
	}
	defer reg.Close()

	var parts []func(context.Context) error
	if emb != nil {
		parts = append(parts, func(ctx context.Context) error { return followMember(ctx, emb, reg, endpoints, log) })
	}
	// The engine campaigns and schedules while it leads.
	var leading func() bool
	if c.Engine {
		eng := engine.New(reg, engine.Config{ID: id, LeaderTTL: c.EngineTTL, Resync: c.Resync,
			MachineTTL: c.MachineTTL, StopMargin: c.StopMargin, Disconnect: disconnect, Observer: m,
			Rebalance: engine.Rebalance{PerMinute: c.RebalancePerMinute, Threshold: c.RebalanceThreshold, LoadGap: c.RebalanceLoadGap}}, log.With("part", "engine"))
		parts = append(parts, eng.Run)
		leading = eng.Leading
	}
	apiTLS, err := apiServerTLS(c)
	if err != nil {
		return err
	}
	listen, advertise, err := agentAPIAddress(c.AgentAPI, ip, apiTLS != nil)
	if err != nil {
		return err
	}
	var api http.Handler // what the agent API serves besides images
	var registered func() bool
	var ready <-chan struct{} // for systemd: the agent registered, or at once without one
	// The agent registers this machine and follows its placements.
	if c.Agent {
		capacity := machineCapacity(ctx, log, c.ImageStore, c.VolumeRoot, c.DataDir, "/")
		ag := agent.New(reg, agent.Config{MachineID: id, PublicIP: ip, Metadata: metadata, API: advertise, TTL: c.MachineTTL, Disconnect: disconnect,
			Capacity: capacity, Version: Version, Systemd: sd, Containers: containers, Observer: m}, log.With("part", "agent"))
		parts = append(parts, ag.Run)
		registered = ag.Registered
		ready = ag.FirstRegistered()
		// Its API answers flotactl status and journal for units placed here.
		limits := agentapi.Limits{Follows: c.APIMaxFollows, PerCaller: c.APIFollowsPerCaller, Timeout: c.APITimeout}
		srv := agentapi.NewServer(ag.Placed, agentapi.ExecRunner{}, limits, log.With("part", "agent-api"))
		if on, err := execOn(c.Exec, apiTLS != nil); err != nil {
			return err
		} else if on {
			srv.EnableExec(agentapi.ExecConfig{Max: agentapi.DefaultMaxExecs, Where: func(ctx context.Context, u string) (agentapi.Where, bool, error) {
				container, placed, err := ag.ContainerOf(ctx, u)
				return agentapi.Where{Container: container}, placed, err
			}})
		}
		api = srv.Handler()
		if apiTLS != nil {
			// Over TLS, every certificate of the CA may fetch images;
			// only an operator's reads units.
			api = agentapi.OperatorsOnly(api)
		}
	}
	if !c.Agent {
		now := make(chan struct{})
		close(now)
		ready = now
	}
	// The agent API, with /metrics and /health: on every flotad with an
	// agent or images to serve, and on any other given --agent-api.
	if listen != "" && (api != nil || c.ServeImages != "" || c.AgentAPI != "") {
		var ui http.Handler // the dashboard, read-only, and live while a browser follows it
		if c.Dashboard {
			d := dashboard.NewServer(reg, dashboard.Config{}, log.With("part", "dashboard"))
			parts = append(parts, d.Run)
			if ui = d.Handler(dashboardPrefix); apiTLS != nil {
				ui = agentapi.OperatorsOnly(ui)
			}
			log.Info("serving the dashboard", "url", advertise+dashboardPrefix)
		}
		h := m.Requests(apiHandler(agentAPIHandler(api, c.ServeImages), ui, m.Handler(), healthHandler(registered, leading)))
		if c.ServeImages != "" {
			log.Info("serving images", "dir", c.ServeImages, "url", advertise+imagesPrefix)
		}
		parts = append(parts, func(ctx context.Context) error { return serve(ctx, listen, h, apiTLS) })
	}
	// fleet's API v1 and flota's own /v1/, over the cluster this flotad
	// reaches.
	apis := http.NewServeMux()
	apis.Handle(fleetapi.Prefix, fleetapi.NewServer(reg).Handler())
	apis.Handle("/v1/", clusterapi.NewServer(reg, nil, log.With("part", "api")).EnableWrites(reg).Handler())
	fl, fh, err := fleetAPIListener(c, m.Requests(apis), apiTLS)
	if err != nil {
		return err
	}
	if fl != nil {
		log.Info("serving fleet's API v1 and flota's /v1/", "address", fl.Addr().Network()+"://"+fl.Addr().String())
		parts = append(parts, func(ctx context.Context) error { return serveOn(ctx, "fleet API", fl, fh) })
	}
	// systemd hears when flotad is ready (Type=notify) and its watchdog
	// is fed.
	parts = append(parts, func(ctx context.Context) error { return notify(ctx, ready, log) })
	return runAll(ctx, parts)
}

// embedConfig is the embedded etcd member that c asks for, checked: named
// after the machine unless --etcd-name says otherwise, advertising ip for
// 0.0.0.0.
func embedConfig(c *Config, id, ip string) (registry.EmbedConfig, error) {
	name := c.EtcdName
	if name == "" {
		name = id
	}
	m := registry.EmbedConfig{
		Dir: c.DataDir, ClientURLs: c.ClientURLs, PeerURLs: c.PeerURLs,
		AdvertiseClientURLs: c.AdvertiseClientURLs, AdvertisePeerURLs: c.AdvertisePeerURLs, HostIP: ip,
		Name: name, InitialCluster: c.InitialCluster, ClusterState: c.InitialClusterState, ClusterToken: c.InitialClusterToken,
		Join: c.EtcdJoin, Verbose: c.LogLevel == "debug",
		CertFile: c.EtcdServerCertFile, KeyFile: c.EtcdServerKeyFile, TrustedCAFile: c.EtcdServerCAFile,
	}
	m, err := m.Resolve()
	if err != nil && c.EtcdName == "" && strings.Contains(err.Error(), "(--etcd-name)") {
		return m, fmt.Errorf("%w, which is the machine ID unless --etcd-name is given", err)
	}
	return m, err
}

// memberPoll is how often flotad looks for members whose client URLs its
// registry does not use yet: a member that had not started when this one
// did has published none.
const memberPoll = 5 * time.Second

// followMember runs while the embedded member serves: it keeps the
// registry's endpoints to the cluster's members, and fails when the member
// stops on its own (it was removed from the cluster, its disk failed), for
// a flotad whose etcd is gone must not go on as if it had one.
func followMember(ctx context.Context, e *registry.Embedded, reg *registry.Registry, endpoints []string, log *slog.Logger) error {
	t := time.NewTicker(memberPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-e.Err():
			return fmt.Errorf("embedded etcd member %s stopped: %w", e.Name(), err)
		case <-t.C:
			if now := e.ClusterEndpoints(); !slices.Equal(now, endpoints) {
				reg.SetEndpoints(now)
				endpoints = now
				log.Info("etcd endpoints changed", "cluster_endpoints", strings.Join(now, ","))
			}
		}
	}
}

// openContainers opens the container runtime as --containers says: nil
// when containers are off, with auto off (and one info line) when the
// image store is not on BTRFS.
func openContainers(ctx context.Context, c *Config, log *slog.Logger) (*runtime.Runtime, error) {
	switch c.Containers {
	case "false":
		return nil, nil
	case "auto":
		ok, err := subvol.OnBtrfs(c.ImageStore)
		if err != nil || !ok {
			log.Info("containers off: --image-store is not on BTRFS (--containers=true to insist)", "image_store", c.ImageStore, "err", err)
			return nil, nil
		}
	case "true":
	default:
		return nil, fmt.Errorf("--containers %q: want true, false or auto", c.Containers)
	}
	client, err := apiClient(c)
	if err != nil {
		return nil, err
	}
	src, err := imageSource(c.ImageSource, client)
	if err != nil {
		return nil, err
	}
	rt, err := runtime.Open(ctx, c.ImageStore, c.VolumeRoot, src)
	if err != nil {
		return nil, fmt.Errorf("containers: %w (--containers=false runs no containers)", err)
	}
	log.Info("containers on", "image_store", c.ImageStore, "volume_root", c.VolumeRoot, "image_source", c.ImageSource)
	return rt, nil
}

// checkMachineID refuses, before etcd is touched, an ID the registry would
// refuse: without this the Agent retried registering it forever while the
// Engine led under it.
func checkMachineID(id string) error {
	if id == "" || strings.Contains(id, "/") || strings.ContainsFunc(id, unicode.IsSpace) {
		return fmt.Errorf("machine ID %q: want a non-empty ID without '/' or spaces, such as systemd's 32 hex digits", id)
	}
	return nil
}

// runAll runs the parts until ctx ends or one fails, which stops the others.
func runAll(ctx context.Context, parts []func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(parts))
	var wg sync.WaitGroup
	for i, part := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if errs[i] = part(ctx); errs[i] != nil {
				cancel()
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	return nil
}

// execOn reads --exec: auto serves exec only over TLS, where the agent API
// takes operators' certificates only; on plain HTTP whoever reaches the
// port could run commands as root, so only an explicit true allows it.
func execOn(flag string, tls bool) (bool, error) {
	switch flag {
	case "auto":
		return tls, nil
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("--exec %q: want true, false or auto", flag)
}
