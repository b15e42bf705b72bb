package ctl

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/flota-dev/flota/clusterapi"
	"github.com/flota-dev/flota/registry"
)

// DefaultEndpoint is where flotactl looks for etcd when --endpoint is not given.
const DefaultEndpoint = "http://127.0.0.1:2379"

// globals holds the global options of one invocation.
type globals struct {
	endpoint string
	driver   string
	prefix   string
	keyFile  string
	certFile string
	caFile   string
	timeout  float64
	debug    bool
	version  bool
	help     bool
	tunnel   string

	// driverSet and endpointSet say --driver and --endpoint were given
	// (flag, or FLOTACTL_DRIVER; for the endpoint FLEETCTL_ENDPOINT too):
	// fleetctl's default driver is API, flotactl's has always been etcd,
	// so only an explicit --driver=API talks to flotad's API.
	driverSet, endpointSet bool

	// fleetctl's SSH options: they only ever configured SSH, which flotactl
	// never uses, so they are accepted and ignored; --tunnel is refused.
	sshUser    string
	sshTimeout float64
	knownHosts string
	strictKeys bool
}

// newGlobalFlags defines the global options on a FlagSet of their own.
func newGlobalFlags(g *globals) *pflag.FlagSet {
	fs := pflag.NewFlagSet("flotactl", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	fs.StringVar(&g.endpoint, "endpoint", DefaultEndpoint, "etcd endpoint(s) of the cluster, comma-separated")
	fs.StringVar(&g.driver, "driver", "API", "etcd: talk to etcd at --endpoint (what flotactl does unless --driver is given); API: talk to flotad's API at --endpoint (default "+clusterapi.DefaultEndpoint+", or http(s)://HOST:PORT)")
	fs.StringVar(&g.prefix, "etcd-key-prefix", registry.DefaultPrefix, "key prefix under which the cluster lives in etcd")
	fs.StringVar(&g.keyFile, "key-file", "", "TLS client key file")
	fs.StringVar(&g.certFile, "cert-file", "", "TLS client certificate file")
	fs.StringVar(&g.caFile, "ca-file", "", "TLS CA file")
	fs.Float64Var(&g.timeout, "request-timeout", 3.0, "seconds to wait for each etcd request")
	fs.BoolVar(&g.debug, "debug", false, "log every etcd request to stderr")
	fs.BoolVar(&g.version, "version", false, "print the version and exit")
	fs.BoolVarP(&g.help, "help", "h", false, "print help and exit")
	fs.StringVar(&g.tunnel, "tunnel", "", "not supported: flotactl talks to etcd directly, use --endpoint")
	fs.StringVar(&g.sshUser, "ssh-username", "core", "ignored: flotactl does not use SSH")
	fs.Float64Var(&g.sshTimeout, "ssh-timeout", 10.0, "ignored: flotactl does not use SSH")
	fs.StringVar(&g.knownHosts, "known-hosts-file", "~/.fleetctl/known_hosts", "ignored: flotactl does not use SSH")
	fs.BoolVar(&g.strictKeys, "strict-host-key-checking", true, "ignored: flotactl does not use SSH")
	return fs
}

// envName is the variable that sets a global flag: FLOTACTL_REQUEST_TIMEOUT
// for --request-timeout.
func envName(prefix, flag string) string {
	return prefix + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// applyEnv gives every global flag not set on the command line the value of
// FLOTACTL_<NAME>, or else of FLEETCTL_<NAME>: command line, then
// environment, then default. An empty variable counts as unset.
func applyEnv(fs *pflag.FlagSet, env func(string) string) error {
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed || f.Name == "help" || f.Name == "version" {
			return
		}
		name := envName("FLOTACTL_", f.Name)
		v := env(name)
		if v == "" {
			name = envName("FLEETCTL_", f.Name)
			v = env(name)
		}
		if v == "" {
			return
		}
		if e := f.Value.Set(v); e != nil {
			err = usageErrorf(nil, "invalid value %q for %s: %v", v, name, e)
		}
	})
	return err
}

// settings are the validated global options.
type settings struct {
	api       string // flotad's API (--driver=API), "": etcd
	endpoints []string
	timeout   time.Duration
	reg       registry.Config
}

// check validates the global options once flags and environment are in.
func (g *globals) check() (settings, error) {
	var s settings
	if g.tunnel != "" {
		return s, usageErrorf(nil, "SSH tunnelling is not supported (--tunnel %s): flotactl talks to etcd directly; give the cluster's etcd with --endpoint", g.tunnel)
	}
	switch strings.ToLower(g.driver) {
	case "api":
		if g.driverSet {
			s.api = clusterapi.DefaultEndpoint
			if g.endpointSet {
				s.api = g.endpoint
			}
		}
	case "etcd":
	default:
		return s, usageErrorf(nil, "invalid --driver %q: want API (flotad's API) or etcd", g.driver)
	}
	for _, ep := range strings.Split(g.endpoint, ",") {
		if ep = strings.TrimSpace(ep); ep != "" {
			s.endpoints = append(s.endpoints, ep)
		}
	}
	if len(s.endpoints) == 0 {
		return s, usageErrorf(nil, "--endpoint: no etcd endpoint given")
	}
	if !(g.timeout > 0) || math.IsInf(g.timeout, 0) {
		return s, usageErrorf(nil, "invalid --request-timeout %v: want a positive number of seconds", g.timeout)
	}
	s.timeout = time.Duration(g.timeout * float64(time.Second))
	s.reg = registry.Config{
		Endpoints:   s.endpoints,
		Prefix:      g.prefix,
		DialTimeout: s.timeout,
		CertFile:    g.certFile,
		KeyFile:     g.keyFile,
		CAFile:      g.caFile,
	}
	return s, nil
}

func (s settings) String() string {
	if s.api != "" {
		return fmt.Sprintf("api=%s timeout=%s", s.api, s.timeout)
	}
	return fmt.Sprintf("endpoints=%s prefix=%s timeout=%s", strings.Join(s.endpoints, ","), s.reg.Prefix, s.timeout)
}
