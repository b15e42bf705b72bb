package daemon

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	agentapi "github.com/flota-dev/flota/agent/api"
	"github.com/flota-dev/flota/engine"
	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/unit"
)

// Config is every setting of flotad.
type Config struct {
	EtcdEndpoints []string
	EtcdPrefix    string
	EtcdCAFile    string
	EtcdCertFile  string
	EtcdKeyFile   string
	// The embedded member's TLS: its certificate and key, and the CA its
	// clients' certificates must be signed by.
	EtcdServerCertFile, EtcdServerKeyFile, EtcdServerCAFile string
	DataDir                                                 string
	// The embedded etcd member (see registry.EmbedConfig).
	ClientURLs          []string
	PeerURLs            []string
	AdvertiseClientURLs []string
	AdvertisePeerURLs   []string
	EtcdName            string
	InitialCluster      string
	InitialClusterState string
	InitialClusterToken string
	EtcdJoin            []string
	MachineID           string
	MachineIDFile       string
	PublicIP            string
	Metadata            string
	MachineTTL          time.Duration
	EngineTTL           time.Duration
	OnDisconnect        string
	StopMargin          time.Duration
	RebalancePerMinute  int
	RebalanceThreshold  float64
	RebalanceLoadGap    int
	Resync              time.Duration
	Engine              bool
	Agent               bool
	AgentAPI            string
	API                 string // --api: where fleet's API v1 is served
	Dashboard           bool   // --dashboard: the web dashboard at /ui/ on the agent API
	Exec                string // --exec: auto, true or false
	ShowVersion         bool   // --version: print it and exit
	APIMaxFollows       int
	APIFollowsPerCaller int
	APITimeout          time.Duration
	// The agent API's TLS: its certificate and key, and the CA its
	// callers' certificates must be signed by.
	APICertFile, APIKeyFile, APICAFile string
	Systemd                            bool
	UnitDir                            string
	ImageStore                         string
	VolumeRoot                         string
	ImageSource                        string
	ServeImages                        string
	Containers                         string // auto, true or false
	LogLevel                           string
	ConfigFile                         string
}

// flags declares flotad's flags on fs, with the defaults --help shows.
func flags(fs *pflag.FlagSet, c *Config) {
	fs.StringSliceVar(&c.EtcdEndpoints, "etcd-endpoints", nil, "etcd client URLs, comma-separated; none: run an embedded etcd in --data-dir")
	fs.StringVar(&c.EtcdPrefix, "etcd-key-prefix", "/flota/", "prefix of every key flota keeps in etcd")
	fs.StringVar(&c.EtcdCAFile, "etcd-cafile", "", "CA bundle to verify etcd's TLS certificate")
	fs.StringVar(&c.EtcdCertFile, "etcd-certfile", "", "client TLS certificate for etcd")
	fs.StringVar(&c.EtcdKeyFile, "etcd-keyfile", "", "client TLS key for etcd")
	fs.StringVar(&c.EtcdServerCertFile, "etcd-server-cert-file", "", "embedded etcd: serve clients and peers over TLS with this certificate (their URLs are then https; defaults https://127.0.0.1:2379 and :2380); needs --etcd-server-key-file and --etcd-server-ca-file")
	fs.StringVar(&c.EtcdServerKeyFile, "etcd-server-key-file", "", "embedded etcd: the key of --etcd-server-cert-file")
	fs.StringVar(&c.EtcdServerCAFile, "etcd-server-ca-file", "", "embedded etcd: the CA every client's and peer's certificate must be signed by (client-certificate authentication); flotad's own client uses the server's certificate unless --etcd-certfile is given")
	fs.StringVar(&c.DataDir, "data-dir", "/var/lib/flota", "where the embedded etcd keeps its data")
	fs.StringSliceVar(&c.ClientURLs, "listen-client-urls", []string{"http://127.0.0.1:2379"}, "embedded etcd: client URLs to serve, IP and port (0.0.0.0 for every address)")
	fs.StringSliceVar(&c.PeerURLs, "listen-peer-urls", []string{"http://127.0.0.1:2380"}, "embedded etcd: URLs to serve the other members on (--listen-peer-url is an older name)")
	fs.StringSliceVar(&c.AdvertiseClientURLs, "advertise-client-urls", nil, "embedded etcd: client URLs published to the cluster (default: --listen-client-urls without loopback ones, unless all are, and with --public-ip for 0.0.0.0)")
	fs.StringSliceVar(&c.AdvertisePeerURLs, "initial-advertise-peer-urls", nil, "embedded etcd: URLs the other members reach this one on; must match its --initial-cluster entry (default: --listen-peer-urls, as for --advertise-client-urls)")
	fs.StringVar(&c.EtcdName, "etcd-name", "", "embedded etcd: this member's name in --initial-cluster (default: the machine ID)")
	fs.StringVar(&c.InitialCluster, "initial-cluster", "", "embedded etcd: every member of a new cluster, name=peerURL,... this one included, e.g. cp1=http://10.0.0.1:2380,cp2=http://10.0.0.2:2380,cp3=http://10.0.0.3:2380; read only while --data-dir is empty (default: this member alone)")
	fs.StringVar(&c.InitialClusterState, "initial-cluster-state", "new", "embedded etcd: new, to bootstrap --initial-cluster, or existing, to join a running cluster that already added this member")
	fs.StringVar(&c.InitialClusterToken, "initial-cluster-token", registry.DefaultClusterToken, "embedded etcd: the same on every member of one cluster, and different between clusters")
	fs.StringSliceVar(&c.EtcdJoin, "etcd-join", nil, "embedded etcd: client URLs of a running cluster's members, to join it instead of --initial-cluster: while --data-dir is empty, flotad adds this member (a learner until it has caught up) and starts with the cluster's membership")
	fs.StringVar(&c.MachineID, "machine-id", "", "this machine's ID (default: the content of --machine-id-file)")
	fs.StringVar(&c.MachineIDFile, "machine-id-file", "/etc/machine-id", "file holding systemd's machine ID")
	fs.StringVar(&c.PublicIP, "public-ip", "", "IP shown for this machine (default: first global IPv4 of an interface that is up)")
	fs.StringVar(&c.Metadata, "metadata", "", "machine metadata, k=v pairs separated by commas, e.g. zone=dmz,rack=r1")
	fs.DurationVar(&c.MachineTTL, "machine-ttl", engine.DefaultTTL, "lease TTL: how long a silent machine still counts as present")
	fs.DurationVar(&c.EngineTTL, "engine-ttl", engine.DefaultTTL, "leadership TTL: how long a silent engine keeps leading")
	fs.StringVar(&c.OnDisconnect, "on-disconnect", string(unit.DisconnectAuto), "cluster default of the units' OnDisconnect=: stop (the agent of a machine cut off from etcd stops the unit before its lease can end; at most one copy), keep (it runs on through a partition; a replacement starts when the lease ends), or auto (stop for units with Conflicts=, keep for the others and for globals); the same on every flotad")
	fs.DurationVar(&c.StopMargin, "stop-margin", engine.DefaultStopMargin, "engine: how long after a machine's lease ended its units that stop on disconnect wait before they are placed elsewhere")
	fs.IntVar(&c.RebalancePerMinute, "rebalance-per-minute", engine.DefaultRebalancePerMinute, "engine: at most this many placed units move, cluster-wide, in any minute to a machine that serves their soft rules (SpreadBy=, SoftConflicts=, PreferMachineMetadata=, MaxSkew=...:anyway) better; 0: none ever moves for them; the same on every flotad")
	fs.Float64Var(&c.RebalanceThreshold, "rebalance-threshold", engine.DefaultRebalanceThreshold, "engine: what a rebalancing move must gain, at least, in the unit's own soft score (1: a soft conflict less, a spread evened by one unit, a preference of weight 1 met); more than 0")
	fs.IntVar(&c.RebalanceLoadGap, "rebalance-load-gap", 0, "engine: also move units for load, within the same rate, off a machine holding at least this many units more than the machine a unit would go to (2 or more); 0: never for load alone; the same on every flotad")
	fs.DurationVar(&c.Resync, "engine-resync", 5*time.Minute, "period of the engine's safety-net full reload")
	fs.BoolVar(&c.Engine, "engine", true, "run the engine (it leads only when elected)")
	fs.BoolVar(&c.ShowVersion, "version", false, "print flotad's version and exit")
	fs.StringVar(&c.API, "api", "", `where flotad serves fleet's HTTP API v1 (/fleet/v1/units, /state, /machines): unix:///PATH, a socket only root reaches (default: flota.sock in --data-dir), tcp://HOST:PORT over the agent API's TLS for operators' certificates only, or "off"`)
	fs.BoolVar(&c.Agent, "agent", true, "run the agent for this machine")
	fs.BoolVar(&c.Systemd, "systemd", true, "let the agent run placed units on this machine's systemd, over the system bus ($DBUS_SYSTEM_BUS_ADDRESS, else /run/dbus/system_bus_socket); flotad exits if it cannot reach it. false: register and follow placements only, running no unit")
	fs.StringVar(&c.UnitDir, "unit-dir", "/run/flota/units", "where the agent writes the unit files it links into systemd; every file there is one of its units")
	fs.StringVar(&c.ImageStore, "image-store", "/var/lib/flota/images", "where the agent keeps container images and the snapshots containers run in (on BTRFS)")
	fs.StringVar(&c.VolumeRoot, "volume-root", "/var/lib/flota/volumes", "where the agent keeps containers' named volumes (on BTRFS)")
	fs.StringVar(&c.ImageSource, "image-source", "", `where the agent fetches missing images from: a directory (<name>_<tag>/chain.json and layer streams, as "flota-image export" writes) or the http(s):// URL of one, e.g. http://10.77.0.1:4920/images from a flotad with --serve-images; "": none, only images already in --image-store run`)
	fs.StringVar(&c.ServeImages, "serve-images", "", `directory of images (as for --image-source) to serve read-only at /images/ on the agent API, for other machines' --image-source; "": none`)
	fs.StringVar(&c.Containers, "containers", "auto", "run units with an [X-Container] section: true, false, or auto (true when --image-store is on BTRFS)")
	fs.Lookup("containers").NoOptDefVal = "true"
	fs.StringVar(&c.AgentAPI, "agent-api", "", `where the agent serves flotactl status and journal: host:port, or "off" (default: the public IP, else 127.0.0.1, port 4920)`)
	fs.StringVar(&c.Exec, "exec", "auto", `serve flotactl exec and shell (a command run as root in a unit's container, or on this machine for a plain unit): true, false, or auto (true when the agent API serves TLS, and so operators' certificates only)`)
	fs.BoolVar(&c.Dashboard, "dashboard", true, "serve the web dashboard at /ui/ on the agent API address (read-only; over TLS, to operators' certificates only)")
	lim := agentapi.DefaultLimits()
	fs.IntVar(&c.APIMaxFollows, "api-max-follows", lim.Follows, "agent API: journal -f streams served at once (each a journalctl process and an inotify instance); 0: no limit")
	fs.IntVar(&c.APIFollowsPerCaller, "api-max-follows-per-caller", lim.PerCaller, "agent API: journal -f streams served at once to one caller (by address); 0: no limit")
	fs.StringVar(&c.APICertFile, "agent-api-cert-file", "", "serve the agent API over TLS (https) with this certificate, to callers with a certificate of --agent-api-ca-file only; the agent also presents it when it fetches images from an https --image-source")
	fs.StringVar(&c.APIKeyFile, "agent-api-key-file", "", "the key of --agent-api-cert-file")
	fs.StringVar(&c.APICAFile, "agent-api-ca-file", "", "the CA the agent API's callers' certificates (flotactl --cert-file, other machines' --agent-api-cert-file) must be signed by; also the CA that signs an https --image-source's")
	fs.DurationVar(&c.APITimeout, "api-timeout", lim.Timeout, "agent API: how long a status or a journal without -f may run; 0: no limit")
	fs.StringVar(&c.LogLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&c.ConfigFile, "config", "", "config file of flag=value lines (e.g. /etc/flota/flotad.conf)")
}

// parse fills a Config: command line beats environment (FLOTA_<FLAG>, upper
// case, '-' as '_') beats config file beats default.
func parse(args []string, env func(string) string, stderr io.Writer) (*Config, *pflag.FlagSet, error) {
	c := &Config{}
	fs := pflag.NewFlagSet("flotad", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: flotad [flags]\n\nflotad runs flota's engine and agent on this machine.\n\nFlags:\n%s", fs.FlagUsages())
	}
	flags(fs, c)
	fs.SetNormalizeFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		if n, ok := renamed[name]; ok {
			name = n
		}
		return pflag.NormalizedName(name)
	})
	if err := fs.Parse(args); err != nil {
		return nil, fs, err
	}
	if fs.NArg() > 0 {
		return nil, fs, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *pflag.Flag) { set[f.Name] = true })
	// fromEnv is the value of flag name's variable, and the variable: its
	// former name's, if only that one is set.
	fromEnv := func(name string) (string, string, bool) {
		if v := env(envName(name)); v != "" {
			return v, envName(name), true
		}
		for old, n := range renamed {
			if v := env(envName(old)); n == name && v != "" {
				return v, envName(old), true
			}
		}
		return "", "", false
	}
	if v, _, ok := fromEnv("config"); ok && !set["config"] {
		c.ConfigFile = v
	}
	fileVals := map[string]fileSetting{}
	if c.ConfigFile != "" {
		var err error
		if fileVals, err = readConfigFile(c.ConfigFile, fs); err != nil {
			return nil, fs, err
		}
	}
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if err != nil || set[f.Name] || f.Name == "config" || f.Name == "version" {
			return // --version is a command-line request, not a setting
		}
		v, variable, ok := fromEnv(f.Name)
		src := "environment variable " + variable
		if s, inFile := fileVals[f.Name]; !ok && inFile {
			v, ok = s.value, true
			src = fmt.Sprintf("config file %s, line %d", c.ConfigFile, s.line)
		}
		if ok {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s: %s=%q: %w", src, f.Name, v, e)
			}
		}
	})
	if err == nil && c.Containers != "auto" && c.Containers != "true" && c.Containers != "false" {
		err = fmt.Errorf("--containers %q: want true, false or auto", c.Containers)
	}
	if err == nil && c.RebalancePerMinute < 0 {
		err = fmt.Errorf("--rebalance-per-minute %d: want 0 (off) or more", c.RebalancePerMinute)
	}
	if err == nil && !(c.RebalanceThreshold > 0) {
		err = fmt.Errorf("--rebalance-threshold %v: want more than 0 (a move that gains nothing would flip even splits back and forth)", c.RebalanceThreshold)
	}
	if err == nil && (c.RebalanceLoadGap < 0 || c.RebalanceLoadGap == 1) {
		err = fmt.Errorf("--rebalance-load-gap %d: want 0 (off) or 2 or more (a move from a machine holding one unit more than its target only swaps their loads)", c.RebalanceLoadGap)
	}
	if err == nil && ((c.APICertFile == "") != (c.APIKeyFile == "") || (c.APICertFile == "") != (c.APICAFile == "")) {
		err = fmt.Errorf("--agent-api-cert-file, --agent-api-key-file, --agent-api-ca-file: give all three (TLS with client certificates) or none")
	}
	if err == nil && c.EtcdServerCertFile != "" && !fs.Changed("listen-client-urls") {
		c.ClientURLs = []string{"https://127.0.0.1:2379"}
	}
	if err == nil && c.EtcdServerCertFile != "" && !fs.Changed("listen-peer-urls") {
		c.PeerURLs = []string{"https://127.0.0.1:2380"}
	}
	if err == nil && (c.APIMaxFollows < 0 || c.APIFollowsPerCaller < 0 || c.APITimeout < 0) {
		err = fmt.Errorf("--api-max-follows %d, --api-max-follows-per-caller %d, --api-timeout %v: want 0 (no limit) or more", c.APIMaxFollows, c.APIFollowsPerCaller, c.APITimeout)
	}
	if err == nil {
		err = checkEmbedded(c, fs)
	}
	if err == nil {
		_, err = imageSource(c.ImageSource, nil)
	}
	if err == nil {
		err = checkServeImages(c)
	}
	return c, fs, err
}

// renamed maps a flag's former name to its name: the former still works on
// the command line, as FLOTA_<FORMER> and in the config file.
var renamed = map[string]string{
	"listen-peer-url": "listen-peer-urls",
}

// envName is the environment variable of flag name.
func envName(name string) string {
	return "FLOTA_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// embeddedFlags configure the embedded etcd member's place in a cluster.
var embeddedFlags = []string{"etcd-name", "initial-cluster", "initial-cluster-state", "initial-cluster-token",
	"advertise-client-urls", "initial-advertise-peer-urls", "etcd-join"}

// checkEmbedded refuses settings of an embedded member on a flotad that
// runs none: they would be ignored, and the machine silently be no member
// of the control plane it was meant to be part of.
func checkEmbedded(c *Config, fs *pflag.FlagSet) error {
	if len(c.EtcdEndpoints) == 0 {
		return nil
	}
	for _, name := range embeddedFlags {
		if fs.Changed(name) {
			return fmt.Errorf("--%s configures the embedded etcd, which flotad runs only without --etcd-endpoints", name)
		}
	}
	return nil
}

// fileSetting is a value from the config file and the line it is on, so
// that a bad value is reported where it was written.
type fileSetting struct {
	value string
	line  int
}

// readConfigFile reads "name=value" lines; a line starting with '#' is a
// comment. Unknown names are errors that give the line, so a typo is not
// silently ignored.
func readConfigFile(path string, fs *pflag.FlagSet) (map[string]fileSetting, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	out := map[string]fileSetting{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		k, v = strings.TrimSpace(k), strings.Trim(strings.TrimSpace(v), `"`)
		if !ok {
			return nil, fmt.Errorf("config file %s, line %d: want name=value", path, n)
		}
		k = strings.ReplaceAll(k, "_", "-")
		f := fs.Lookup(k) // a former name finds its flag
		if f == nil || k == "config" {
			return nil, fmt.Errorf("config file %s, line %d: unknown setting %q", path, n, k)
		}
		out[f.Name] = fileSetting{value: v, line: n}
	}
	return out, sc.Err()
}
