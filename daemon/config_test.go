package daemon

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flota-dev/flota/registry/registrytest"
)

// envOf turns a map into the env lookup Main and parse take.
func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// writeConf writes a config file into a fresh directory and returns its path.
func writeConf(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "flotad.conf")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestConfigPrecedence checks that each setting comes from the command line,
// else FLOTA_<NAME>, else the config file, else its default, setting by
// setting.
func TestConfigPrecedence(t *testing.T) {
	conf := writeConf(t, `# flotad settings
machine-ttl = 3s

metadata=zone=dmz,rack=r1
  # indented comment
engine=false
listen_client_urls="http://127.0.0.1:1,http://127.0.0.1:2"
engine-resync=1m
`)
	// A file that would fail if it were read.
	bad := writeConf(t, "no-such-setting=1\n")

	type want struct {
		machineTTL time.Duration
		metadata   string
		engine     bool
		clientURLs []string
		resync     time.Duration
	}
	defaults := want{5 * time.Second, "", true, []string{"http://127.0.0.1:2379"}, 5 * time.Minute}
	fromFile := want{3 * time.Second, "zone=dmz,rack=r1", false, []string{"http://127.0.0.1:1", "http://127.0.0.1:2"}, time.Minute}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want want
	}{
		{"default", nil, nil, defaults},
		{"config file beats default", []string{"--config", conf}, nil, fromFile},
		{"FLOTA_CONFIG names the config file", nil, map[string]string{"FLOTA_CONFIG": conf}, fromFile},
		{"--config beats FLOTA_CONFIG", []string{"--config=" + conf}, map[string]string{"FLOTA_CONFIG": bad}, fromFile},
		{"env beats config file",
			[]string{"--config", conf},
			map[string]string{"FLOTA_MACHINE_TTL": "4s", "FLOTA_ENGINE": "true", "FLOTA_LISTEN_CLIENT_URLS": "http://127.0.0.1:4"},
			want{4 * time.Second, "zone=dmz,rack=r1", true, []string{"http://127.0.0.1:4"}, time.Minute}},
		{"empty env var counts as unset",
			[]string{"--config", conf}, map[string]string{"FLOTA_MACHINE_TTL": "", "FLOTA_METADATA": ""}, fromFile},
		{"env beats default", nil, map[string]string{"FLOTA_METADATA": "zone=lan", "FLOTA_ENGINE_RESYNC": "30s"},
			want{5 * time.Second, "zone=lan", true, defaults.clientURLs, 30 * time.Second}},
		{"flag beats env",
			[]string{"--config", conf, "--machine-ttl=5s", "--engine", "--listen-client-urls=http://127.0.0.1:5,http://127.0.0.1:6"},
			map[string]string{"FLOTA_MACHINE_TTL": "4s", "FLOTA_ENGINE": "false", "FLOTA_LISTEN_CLIENT_URLS": "http://127.0.0.1:4"},
			want{5 * time.Second, "zone=dmz,rack=r1", true, []string{"http://127.0.0.1:5", "http://127.0.0.1:6"}, time.Minute}},
		{"flag beats default", []string{"--metadata=a=b", "--engine=false"}, nil,
			want{5 * time.Second, "a=b", false, defaults.clientURLs, 5 * time.Minute}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := parse(tt.args, envOf(tt.env), io.Discard)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			got := want{c.MachineTTL, c.Metadata, c.Engine, c.ClientURLs, c.Resync}
			if got.machineTTL != tt.want.machineTTL || got.metadata != tt.want.metadata || got.engine != tt.want.engine ||
				!slices.Equal(got.clientURLs, tt.want.clientURLs) || got.resync != tt.want.resync {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestConfigErrors checks that every bad setting is refused with where it
// came from: the file and line, the variable, or the flag.
func TestConfigErrors(t *testing.T) {
	typo := writeConf(t, "# settings\nmachine-ttl=2s\nmachine_tll=2s\n")
	self := writeConf(t, "config=/etc/other.conf\n")
	noEq := writeConf(t, "\nagent\n")
	badDur := writeConf(t, "metadata=zone=dmz\n# the next one is wrong\nmachine-ttl=two\n")
	missing := filepath.Join(t.TempDir(), "missing.conf")
	tests := []struct {
		name   string
		args   []string
		env    map[string]string
		prefix string // the error starts with this
		has    string // and contains this
	}{
		{"unknown setting names file and line", []string{"--config", typo}, nil,
			"config file " + typo + ", line 3: unknown setting \"machine-tll\"", ""},
		{"config in a config file is unknown", []string{"--config", self}, nil,
			"config file " + self + ", line 1: unknown setting \"config\"", ""},
		{"line without '='", []string{"--config", noEq}, nil,
			"config file " + noEq + ", line 2: want name=value", ""},
		{"missing config file", nil, map[string]string{"FLOTA_CONFIG": missing},
			"config file: open " + missing, "no such file"},
		{"bad duration in config file", []string{"--config", badDur}, nil,
			"config file " + badDur + ", line 3: machine-ttl=\"two\"", "invalid duration"},
		{"bad duration in env", []string{"--config", badDur}, map[string]string{"FLOTA_MACHINE_TTL": "soon"},
			"environment variable FLOTA_MACHINE_TTL: machine-ttl=\"soon\"", "invalid duration"},
		{"bad duration flag", []string{"--engine-ttl=10"}, nil,
			"invalid argument \"10\" for \"--engine-ttl\" flag", "missing unit"},
		{"bad bool in env", nil, map[string]string{"FLOTA_AGENT": "maybe"},
			"environment variable FLOTA_AGENT: agent=\"maybe\"", "invalid syntax"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := parse(tt.args, envOf(tt.env), io.Discard)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.HasPrefix(err.Error(), tt.prefix) || !strings.Contains(err.Error(), tt.has) {
				t.Errorf("error %q\nwant it to start with %q and contain %q", err, tt.prefix, tt.has)
			}
		})
	}
}

// isolated is the flags that keep a flotad that should have failed fast,
// but did not, off the default ports and data directory.
func isolated(t *testing.T) []string {
	return []string{
		"--data-dir=" + t.TempDir(),
		fmt.Sprintf("--listen-client-urls=http://127.0.0.1:%d", registrytest.FreePort(t)),
		fmt.Sprintf("--listen-peer-url=http://127.0.0.1:%d", registrytest.FreePort(t)),
	}
}

// TestMainUsage checks what flotad says, and its exit code, when it is
// called wrong: all before it touches etcd or the disk.
func TestMainUsage(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		env    map[string]string
		code   int
		stderr string // exact, or a prefix when it ends in "…"
	}{
		{"unknown flag", []string{"--machine-ttl=2s", "--bogus"}, nil, 2, "flotad: unknown flag: --bogus\n"},
		{"unknown shorthand", []string{"-x"}, nil, 2, "flotad: unknown shorthand flag: 'x' in -x\n"},
		{"unexpected argument", []string{"start"}, nil, 2, "flotad: unexpected argument \"start\"\n"},
		{"bad duration flag", []string{"--machine-ttl=2"}, nil, 2,
			"flotad: invalid argument \"2\" for \"--machine-ttl\" flag: time: missing unit in duration \"2\"\n"},
		{"bad duration env", nil, map[string]string{"FLOTA_ENGINE_TTL": "x"}, 2,
			"flotad: environment variable FLOTA_ENGINE_TTL: engine-ttl=\"x\": …"},
		{"bad log level", []string{"--log-level=loud"}, nil, 2, "flotad: --log-level \"loud\": want debug, info, warn or error\n"},
		{"help", []string{"--help"}, nil, 0, "Usage: flotad [flags]\n\nflotad runs flota's engine and agent on this machine.\n\nFlags:\n…"},
		{"bad machine ID fails fast", append([]string{"--machine-id=rack1/m2"}, isolated(t)...), nil, 1,
			"flotad: machine ID \"rack1/m2\": want a non-empty ID without '/' or spaces, such as systemd's 32 hex digits\n"},
		{"bad metadata fails fast", append([]string{"--machine-id=m1", "--metadata=zone"}, isolated(t)...), nil, 1,
			"flotad: --metadata: metadata \"zone\": want key=value\n"},
		{"bad disconnect default fails fast", append([]string{"--machine-id=m1", "--on-disconnect=maybe"}, isolated(t)...), nil, 1,
			"flotad: --on-disconnect \"maybe\": want stop, keep or auto\n"},
		{"negative stop margin fails fast", append([]string{"--machine-id=m1", "--stop-margin=-1s"}, isolated(t)...), nil, 1,
			"flotad: --stop-margin -1s: want a duration of 0 or more\n"},
		{"negative rebalance rate", []string{"--rebalance-per-minute=-1"}, nil, 2, "flotad: --rebalance-per-minute -1: want 0 (off) or more\n"},
		{"rebalance threshold of 0", nil, map[string]string{"FLOTA_REBALANCE_THRESHOLD": "0"}, 2,
			"flotad: --rebalance-threshold 0: want more than 0 (a move that gains nothing would flip even splits back and forth)\n"},
		{"rebalance load gap of 1", []string{"--rebalance-load-gap=1"}, nil, 2,
			"flotad: --rebalance-load-gap 1: want 0 (off) or 2 or more (a move from a machine holding one unit more than its target only swaps their loads)\n"},
		{"image source of another scheme", []string{"--image-source=s3://bucket/images"}, nil, 2,
			"flotad: --image-source \"s3://bucket/images\": want a directory or an http:// or https:// URL, not s3://\n"},
		{"serve-images without the agent API", nil, map[string]string{"FLOTA_SERVE_IMAGES": "/srv", "FLOTA_AGENT_API": "off"}, 2,
			"flotad: --serve-images needs --agent-api, on which the images are served (it is off)\n"},
		{"missing serve-images fails fast", append([]string{"--machine-id=m1", "--serve-images=/nonexistent/flota-images"}, isolated(t)...), nil, 1,
			"flotad: --serve-images: stat /nonexistent/flota-images: no such file or directory\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			code := Main(ctx, tt.args, envOf(tt.env), io.Discard, &stderr)
			got := stderr.String()
			ok := got == tt.stderr
			if p, cut := strings.CutSuffix(tt.stderr, "…"); cut {
				ok = strings.HasPrefix(got, p)
			}
			if code != tt.code || !ok {
				t.Errorf("exit %d, stderr %q\nwant exit %d, stderr %q", code, got, tt.code, tt.stderr)
			}
		})
	}
}

// TestMainWithoutSystemBus checks that flotad, whose agent runs units by
// default, exits at once naming the bus it could not reach, and says how
// to run without units.
func TestMainWithoutSystemBus(t *testing.T) {
	const bus = "unix:path=/nonexistent/flota-test/system_bus_socket"
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", bus)
	var stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	code := Main(ctx, append([]string{"--machine-id=m1"}, isolated(t)...), envOf(nil), io.Discard, &stderr)
	got := stderr.String()
	if code != 1 || !strings.HasPrefix(got, "flotad: connect to systemd on "+bus+": ") || !strings.Contains(got, "--systemd=false") {
		t.Errorf("exit %d, stderr %q\nwant exit 1 and an error naming %s and --systemd=false", code, got, bus)
	}
}

func TestConfigContainers(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{nil, nil, "auto"},
		{[]string{"--containers"}, nil, "true"},
		{[]string{"--containers=false"}, nil, "false"},
		{nil, map[string]string{"FLOTA_CONTAINERS": "true"}, "true"},
	} {
		c, _, err := parse(tc.args, envOf(tc.env), io.Discard)
		if err != nil || c.Containers != tc.want {
			t.Errorf("parse(%q, %v): containers %q, %v; want %q", tc.args, tc.env, c.Containers, err, tc.want)
		}
	}
	c, _, err := parse(nil, envOf(nil), io.Discard)
	if err != nil || c.ImageStore != "/var/lib/flota/images" || c.VolumeRoot != "/var/lib/flota/volumes" || c.ImageSource != "" {
		t.Errorf("defaults: %+v, %v", c, err)
	}
	if _, _, err := parse([]string{"--containers=maybe"}, envOf(nil), io.Discard); err == nil || !strings.Contains(err.Error(), "--containers") {
		t.Errorf("--containers=maybe: %v", err)
	}
}
