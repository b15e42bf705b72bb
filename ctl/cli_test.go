package ctl

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestGlobalSettings checks command line > FLOTACTL_ > FLEETCTL_ > default
// on the parsed settings themselves.
func TestGlobalSettings(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		timeout  time.Duration
		endpoint string
		prefix   string
		err      string
	}{
		{name: "defaults", timeout: 3 * time.Second, endpoint: DefaultEndpoint, prefix: "/flota/"},
		{name: "flag", args: []string{"--request-timeout=0.5", "--endpoint=http://a:1,http://b:2"},
			timeout: 500 * time.Millisecond, endpoint: "http://a:1,http://b:2", prefix: "/flota/"},
		{name: "flotactl env", env: map[string]string{"FLOTACTL_REQUEST_TIMEOUT": "1.5", "FLOTACTL_ETCD_KEY_PREFIX": "/x/"},
			timeout: 1500 * time.Millisecond, endpoint: DefaultEndpoint, prefix: "/x/"},
		{name: "fleetctl env fallback", env: map[string]string{"FLEETCTL_ENDPOINT": "http://f:1"},
			timeout: 3 * time.Second, endpoint: "http://f:1", prefix: "/flota/"},
		{name: "flotactl env beats fleetctl env", env: map[string]string{"FLEETCTL_ENDPOINT": "http://f:1", "FLOTACTL_ENDPOINT": "http://g:1"},
			timeout: 3 * time.Second, endpoint: "http://g:1", prefix: "/flota/"},
		{name: "flag beats env", args: []string{"--endpoint", "http://h:1"}, env: map[string]string{"FLOTACTL_ENDPOINT": "http://g:1", "FLEETCTL_ENDPOINT": "http://f:1"},
			timeout: 3 * time.Second, endpoint: "http://h:1", prefix: "/flota/"},
		{name: "empty env is unset", env: map[string]string{"FLOTACTL_ENDPOINT": "", "FLEETCTL_ENDPOINT": "http://f:1"},
			timeout: 3 * time.Second, endpoint: "http://f:1", prefix: "/flota/"},
		{name: "bad env value", env: map[string]string{"FLOTACTL_REQUEST_TIMEOUT": "soon"}, err: `invalid value "soon" for FLOTACTL_REQUEST_TIMEOUT`},
		{name: "zero timeout", args: []string{"--request-timeout=0"}, err: "invalid --request-timeout 0"},
		{name: "tunnel refused", args: []string{"--tunnel=core@host"}, err: "SSH tunnelling is not supported"},
		{name: "tunnel from env refused", env: map[string]string{"FLEETCTL_TUNNEL": "host"}, err: "SSH tunnelling is not supported"},
		{name: "ssh options ignored", args: []string{"--ssh-username=me", "--strict-host-key-checking=false", "--ssh-timeout=2"},
			timeout: 3 * time.Second, endpoint: DefaultEndpoint, prefix: "/flota/"},
		{name: "driver etcd", args: []string{"--driver=etcd"}, timeout: 3 * time.Second, endpoint: DefaultEndpoint, prefix: "/flota/"},
		{name: "bad driver", args: []string{"--driver=ssh"}, err: `invalid --driver "ssh"`},
		{name: "no endpoint", args: []string{"--endpoint=,"}, err: "no etcd endpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var g globals
			fs := newGlobalFlags(&g)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			err := applyEnv(fs, func(k string) string { return tt.env[k] })
			var s settings
			if err == nil {
				s, err = g.check()
			}
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.timeout != tt.timeout || strings.Join(s.endpoints, ",") != tt.endpoint || s.reg.Prefix != tt.prefix {
				t.Errorf("got timeout %v endpoint %q prefix %q", s.timeout, strings.Join(s.endpoints, ","), s.reg.Prefix)
			}
		})
	}
}

// TestUsage checks exit codes and messages of command-line mistakes, and
// that help and version exit 0. Nothing here may reach etcd: the endpoint
// is dead.
func TestUsage(t *testing.T) {
	dead := deadEndpoint(t)
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string // substring
		stderr string // substring
	}{
		{name: "no arguments", code: 2, stderr: "USAGE:"},
		{name: "unknown command", args: []string{"frobnicate"}, code: 2, stderr: `flotactl: unknown command "frobnicate"`},
		{name: "fleetctl command not here yet", args: []string{"fd-forward", "x"}, code: 2, stderr: `command "fd-forward" is not implemented by flotactl yet`},
		{name: "fleetctl's ssh points to shell and exec", args: []string{"ssh", "x"}, code: 2, stderr: `flotactl shell UNIT opens a shell in the unit's container`},
		{name: "unknown global flag", args: []string{"--frob", "list-units"}, code: 2, stderr: "unknown flag: --frob"},
		{name: "unknown command flag", args: []string{"list-units", "--frob"}, code: 2, stderr: "list-units: unknown flag: --frob\nUsage: flotactl list-units [command options]"},
		{name: "flag of another command", args: []string{"stop", "--replace", "x"}, code: 2, stderr: "unknown flag: --replace"},
		{name: "missing units", args: []string{"start"}, code: 2, stderr: "start: missing UNIT..."},
		{name: "too many", args: []string{"cat", "a", "b"}, code: 2, stderr: `cat: too many arguments: ["b"]`},
		{name: "list takes no arguments", args: []string{"list-units", "x"}, code: 2, stderr: "too many arguments"},
		{name: "bad flag value", args: []string{"start", "--block-attempts=many", "x"}, code: 2, stderr: `invalid argument "many" for "--block-attempts"`},
		{name: "negative attempts", args: []string{"stop", "--block-attempts=-1", "x"}, code: 2, stderr: "invalid --block-attempts -1"},
		{name: "restart has no --no-block", args: []string{"restart", "--no-block", "x"}, code: 2, stderr: "unknown flag: --no-block"},
		{name: "help unknown", args: []string{"help", "frob"}, code: 2, stderr: `help: unknown command "frob"`},
		{name: "tunnel", args: []string{"--tunnel", "10.0.0.1", "list-units"}, code: 2, stderr: "SSH tunnelling is not supported"},
		{name: "help", args: []string{"help"}, code: 0, stdout: "NAME:\n\tflotactl - "},
		{name: "--help", args: []string{"--help"}, code: 0, stdout: "GLOBAL OPTIONS:\n"},
		{name: "-h", args: []string{"-h"}, code: 0, stdout: "COMMANDS:\n"},
		{name: "help command", args: []string{"help", "start"}, code: 0, stdout: "NAME:\n\tflotactl start - "},
		{name: "command --help", args: []string{"start", "--help"}, code: 0, stdout: "OPTIONS:\n"},
		{name: "command -h", args: []string{"list-units", "-h"}, code: 0, stdout: "-l, --full"},
		{name: "help before command", args: []string{"--help", "stop"}, code: 0, stdout: "USAGE:\n\tflotactl stop [command options] UNIT...\n"},
		{name: "version", args: []string{"version"}, code: 0, stdout: "flotactl version " + Version + "\n"},
		{name: "--version", args: []string{"--version"}, code: 0, stdout: "flotactl version " + Version + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCtl(context.Background(), nil, append([]string{"--endpoint", dead}, tt.args...)...)
			if r.code != tt.code || !strings.Contains(r.out, tt.stdout) || !strings.Contains(r.errOut, tt.stderr) {
				t.Errorf("exit %d, want %d\nstdout: %q (want %q)\nstderr: %q (want %q)", r.code, tt.code, r.out, tt.stdout, r.errOut, tt.stderr)
			}
			if tt.code != 0 && r.out != "" {
				t.Errorf("a failure wrote to stdout: %q", r.out)
			}
		})
	}
}

// TestHelpSections checks the sections of fleetctl's help.
func TestHelpSections(t *testing.T) {
	r := runCtl(context.Background(), nil, "help")
	for _, s := range []string{"NAME:", "USAGE:", "VERSION:", "COMMANDS:", "DESCRIPTION:", "GLOBAL OPTIONS:", "\tlist-unit-files ", "--request-timeout float", "FLEETCTL_<OPTION>"} {
		if !strings.Contains(r.out, s) {
			t.Errorf("help lacks %q:\n%s", s, r.out)
		}
	}
	r = runCtl(context.Background(), nil, "help", "list-units")
	for _, s := range []string{"NAME:", "USAGE:", "DESCRIPTION:", "OPTIONS:", "GLOBAL OPTIONS:", `--fields string   columns to print`} {
		if !strings.Contains(r.out, s) {
			t.Errorf("help list-units lacks %q:\n%s", s, r.out)
		}
	}
}

// TestUnitNames checks that every name is validated, with fleet's messages,
// before anything is read or written: the endpoint is dead.
func TestUnitNames(t *testing.T) {
	dead := deadEndpoint(t)
	tests := []struct {
		name string
		args []string
		err  string
	}{
		{name: "invalid character", args: []string{"start", "x$y.service"}, err: "unit x$y.service: invalid character '$' in unit name\n"},
		{name: "invalid character after path", args: []string{"submit", "../we!rd.service"}, err: "unit we!rd.service: invalid character '!' in unit name\n"},
		{name: "empty", args: []string{"stop", ""}, err: "unit name cannot be empty\n"},
		{name: "starts with @", args: []string{"destroy", "@x.service"}, err: "unit @x.service: unit name cannot start in \"@\"\n"},
		{name: "bad template type", args: []string{"load", "a@1.device"}, err: "unit a@1.device: invalid unit type for template: \"device\"\n"},
		{name: "one bad among good", args: []string{"start", "good", "b%d"}, err: "unit b%d.service: invalid character '%' in unit name\n"},
		{name: "start a template", args: []string{"start", "web@.service"}, err: "cannot start web@.service: it is a template, which is never scheduled; start an instance of it such as web@1.service\n"},
		{name: "load a template", args: []string{"load", "dir/web@.socket"}, err: "cannot load web@.socket: it is a template, which is never scheduled; load an instance of it such as web@1.socket\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCtl(context.Background(), nil, append([]string{"--endpoint", dead}, tt.args...)...)
			check(t, r, 1, "", tt.err)
		})
	}
}

// TestDeadEtcd checks that an unreachable etcd fails fast, within the
// request timeout, and names the endpoint.
func TestDeadEtcd(t *testing.T) {
	dead := deadEndpoint(t)
	for _, args := range [][]string{{"list-units"}, {"list-machines"}, {"start", "--no-block", "x"}, {"cat", "x"}, {"destroy", "x"}} {
		t.Run(args[0], func(t *testing.T) {
			start := time.Now()
			r := runCtl(context.Background(), nil, append([]string{"--endpoint", dead, "--request-timeout=0.5"}, args...)...)
			took := time.Since(start)
			if r.code != 1 || !strings.HasPrefix(r.errOut, "Error: etcd unreachable at "+dead+" (request timeout 500ms): ") || r.out != "" {
				t.Errorf("exit %d stdout %q stderr %q", r.code, r.out, r.errOut)
			}
			if took > 2*time.Second {
				t.Errorf("took %v with a 0.5s request timeout", took)
			}
		})
	}
}

// TestDebug checks that --debug logs the etcd requests to stderr.
func TestDebug(t *testing.T) {
	c := newCluster(t)
	r := c.must("--debug", "list-machines")
	if !strings.Contains(r.errOut, "level=DEBUG") || !strings.Contains(r.errOut, "op=\"list machines\"") {
		t.Errorf("no debug log on stderr: %q", r.errOut)
	}
	if r.out != "MACHINE\tIP\tMETADATA\n" {
		t.Errorf("stdout %q", r.out)
	}
	if r := c.must("list-machines"); r.errOut != "" {
		t.Errorf("stderr without --debug: %q", r.errOut)
	}
}

// TestEnvAgainstEtcd checks the environment on a real cluster: the endpoint
// and key prefix come from FLOTACTL_ / FLEETCTL_ unless given as flags.
func TestEnvAgainstEtcd(t *testing.T) {
	c := newCluster(t)
	dir := t.TempDir()
	c.must("submit", writeFile(t, dir, "a.service", "[Service]\nExecStart=/bin/true\n"))
	dead := deadEndpoint(t)
	tests := []struct {
		name string
		env  map[string]string
		args []string
		out  string
	}{
		{name: "FLOTACTL_ENDPOINT", env: map[string]string{"FLOTACTL_ENDPOINT": c.endpoint}, out: "a.service\n"},
		{name: "FLEETCTL_ENDPOINT", env: map[string]string{"FLEETCTL_ENDPOINT": c.endpoint}, out: "a.service\n"},
		{name: "flag beats env", env: map[string]string{"FLOTACTL_ENDPOINT": dead}, args: []string{"--endpoint", c.endpoint}, out: "a.service\n"},
		{name: "global flag after the command", env: map[string]string{"FLOTACTL_ENDPOINT": dead}, args: []string{"--endpoint=" + c.endpoint}, out: "a.service\n"},
		{name: "prefix from env", env: map[string]string{"FLOTACTL_ENDPOINT": c.endpoint, "FLEETCTL_ETCD_KEY_PREFIX": "/other/"}, out: ""},
		{name: "prefix flag beats env", env: map[string]string{"FLOTACTL_ENDPOINT": c.endpoint, "FLOTACTL_ETCD_KEY_PREFIX": "/other/"}, args: []string{"--etcd-key-prefix=/flota/"}, out: "a.service\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"list-unit-files", "--no-legend", "--fields=unit"}, tt.args...)
			if tt.name != "global flag after the command" {
				args = append(tt.args, "list-unit-files", "--no-legend", "--fields=unit")
			}
			check(t, runCtl(context.Background(), tt.env, args...), 0, tt.out, "")
		})
	}
}
