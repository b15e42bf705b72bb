package task_test

import (
	"io"
	"reflect"
	"strings"
	"testing"

	sdunit "github.com/coreos/go-systemd/v22/unit"

	"github.com/flota-dev/flota/agent/task"
	"github.com/flota-dev/flota/unit"
)

const (
	nspawn = "/usr/bin/systemd-nspawn"
	snap   = "/pool/tasks/web/root"
)

// input parses text as name and gives the Plan input for it.
func input(t *testing.T, name, text string, volumes map[string]string) task.PlanInput {
	t.Helper()
	f, err := unit.Parse(name, []byte(text))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return task.PlanInput{Unit: name, Options: f.Options, Container: f.Container,
		Snapshot: snap, Volumes: volumes, Nspawn: nspawn}
}

func text(opts []*sdunit.UnitOption) string {
	b, _ := io.ReadAll(sdunit.Serialize(opts))
	return string(b)
}

func TestPlan(t *testing.T) {
	const head = nspawn + " --quiet --keep-unit --register=yes --directory=" + snap
	tests := []struct {
		name    string
		unit    string // default web.service
		text    string
		volumes map[string]string
		change  func(in *task.PlanInput)
		want    string // the options, serialized
		mounts  []task.Mount
		quota   uint64
	}{
		{
			name: "minimal",
			text: "[Service]\nExecStart=/usr/bin/web --port 8080\n[X-Container]\nImage=app-web:3\n",
			want: "[Service]\nExecStart=" + head + " --machine=web --kill-signal=SIGTERM -- /usr/bin/web --port 8080\n" +
				"KillMode=mixed\nDelegate=yes\n\n[X-Container]\nImage=app-web:3\n",
		},
		{
			name: "resource limits and other options kept in place",
			text: "[Unit]\nDescription=web\nAfter=network.target\n\n[Service]\nMemoryMax=2G\nCPUQuota=150%\n" +
				"ExecStart=/usr/bin/web\nCPUWeight=200\nIOWeight=50\nTasksMax=512\nRestart=on-failure\n\n" +
				"[X-Fleet]\nConflicts=web*\n\n[X-Container]\nImage=app-web:3\nDiskQuota=2G\n",
			want: "[Unit]\nDescription=web\nAfter=network.target\n\n[Service]\nMemoryMax=2G\nCPUQuota=150%\n" +
				"ExecStart=" + head + " --machine=web --kill-signal=SIGTERM -- /usr/bin/web\n" +
				"KillMode=mixed\nDelegate=yes\nCPUWeight=200\nIOWeight=50\nTasksMax=512\nRestart=on-failure\n\n" +
				"[X-Fleet]\nConflicts=web*\n\n[X-Container]\nImage=app-web:3\nDiskQuota=2G\n",
			quota: 2 << 30,
		},
		{
			name:    "private users: a user namespace, the snapshot and volumes idmapped",
			unit:    "web.service",
			text:    "[Service]\nExecStart=/usr/bin/web\n[X-Container]\nImage=app-web:3\nPrivateUsers=yes\nVolume=data:/var/lib/web\n",
			volumes: map[string]string{"data": "/pool/volumes/data"},
			want: "[Service]\nExecStart=" + head + " --machine=web --kill-signal=SIGTERM --private-users=pick --private-users-ownership=map" +
				" --bind=/pool/volumes/data:/var/lib/web:idmap -- /usr/bin/web\n" +
				"KillMode=mixed\nDelegate=yes\n\n[X-Container]\nImage=app-web:3\nPrivateUsers=yes\nVolume=data:/var/lib/web\n",
			mounts: []task.Mount{{Volume: "data", Source: "/pool/volumes/data", Target: "/var/lib/web"}},
		},
		{
			name: "volumes, private network, instance name",
			unit: "web@3.service",
			text: "[Service]\nExecStart=/usr/bin/web\n[X-Container]\nImage=app-web:3\nNetwork=private\n" +
				"Volume=data-%i:/var/lib/web\nVolume=certs:/etc/ssl/private:ro\n",
			volumes: map[string]string{"data-3": "/pool/volumes/data-3", "certs": "/pool/volumes/certs"},
			want: "[Service]\nExecStart=" + head + " --machine=web-3-471a3055 --kill-signal=SIGTERM --private-network" +
				" --bind=/pool/volumes/data-3:/var/lib/web --bind-ro=/pool/volumes/certs:/etc/ssl/private -- /usr/bin/web\n" +
				"KillMode=mixed\nDelegate=yes\n\n[X-Container]\nImage=app-web:3\nNetwork=private\n" +
				"Volume=data-%i:/var/lib/web\nVolume=certs:/etc/ssl/private:ro\n",
			mounts: []task.Mount{
				{Volume: "data-3", Source: "/pool/volumes/data-3", Target: "/var/lib/web"},
				{Volume: "certs", Source: "/pool/volumes/certs", Target: "/etc/ssl/private", ReadOnly: true},
			},
		},
		{
			name: "boot",
			text: "[Service]\nMemoryMax=1G\n[X-Container]\nImage=os:12\nBoot=yes\n",
			want: "[Service]\nMemoryMax=1G\nExecStart=" + head + " --machine=web --boot\nKillMode=mixed\nDelegate=yes\n\n" +
				"[X-Container]\nImage=os:12\nBoot=yes\n",
		},
		{
			name: "boot without a Service section",
			text: "[Unit]\nDescription=os\n[X-Container]\nImage=os:12\nBoot=yes\n",
			want: "[Unit]\nDescription=os\n\n[X-Container]\nImage=os:12\nBoot=yes\n\n" +
				"[Service]\nExecStart=" + head + " --machine=web --boot\nKillMode=mixed\nDelegate=yes\n",
		},
		{
			name: "boot with Type=notify, after the last Service option",
			text: "[Service]\nType=notify\nKillMode=mixed\n[X-Container]\nImage=os:12\nBoot=yes\n",
			want: "[Service]\nType=notify\nExecStart=" + head + " --machine=web --boot --notify-ready=yes\nKillMode=mixed\nDelegate=yes\n\n" +
				"[X-Container]\nImage=os:12\nBoot=yes\n",
		},
		{
			name: "Type=notify command",
			text: "[Service]\nType=notify\nExecStart=/usr/bin/web\n[X-Container]\nImage=app-web:3\n",
			want: "[Service]\nType=notify\nExecStart=" + head + " --machine=web --kill-signal=SIGTERM --notify-ready=yes -- /usr/bin/web\n" +
				"KillMode=mixed\nDelegate=yes\n\n[X-Container]\nImage=app-web:3\n",
		},
		{
			name: "Type=notify reset",
			text: "[Service]\nType=notify\nType=\nExecStart=/usr/bin/web\n[X-Container]\nImage=app-web:3\n",
			want: "[Service]\nType=notify\nType=\nExecStart=" + head + " --machine=web --kill-signal=SIGTERM -- /usr/bin/web\n" +
				"KillMode=mixed\nDelegate=yes\n\n[X-Container]\nImage=app-web:3\n",
		},
		{
			name: "words kept as written: quotes, escapes, specifiers, variables",
			text: "[Service]\nEnvironment=A=1\nExecStart=/bin/sh -c 'echo \"%i $A\"' \\x41 ${A} \\;\n[X-Container]\nImage=app-web:3\n",
			want: "[Service]\nEnvironment=A=1\nExecStart=" + head + " --machine=web --kill-signal=SIGTERM -- /bin/sh -c 'echo \"%i $A\"' \\x41 ${A} \\;\n" +
				"KillMode=mixed\nDelegate=yes\n\n[X-Container]\nImage=app-web:3\n",
		},
		{
			name: "continuation lines become one line",
			text: "[Service]\nExecStart=/usr/bin/web \\\n  --port 8080\n[X-Container]\nImage=app-web:3\n",
			want: "[Service]\nExecStart=" + head + " --machine=web --kill-signal=SIGTERM -- /usr/bin/web --port 8080\n" +
				"KillMode=mixed\nDelegate=yes\n\n[X-Container]\nImage=app-web:3\n",
		},
		{
			name: "prefixes move to the front",
			text: "[Service]\nExecStart=-:/usr/bin/web $A\n[X-Container]\nImage=app-web:3\n",
			want: "[Service]\nExecStart=-:" + head + " --machine=web --kill-signal=SIGTERM -- /usr/bin/web $A\n" +
				"KillMode=mixed\nDelegate=yes\n\n[X-Container]\nImage=app-web:3\n",
		},
		{
			name:    "paths quoted and escaped for systemd",
			text:    "[Service]\nExecStart=/usr/bin/web\n[X-Container]\nImage=app-web:3\nVolume=d:/data/100%%\n",
			volumes: map[string]string{"d": "/pool/my vol/$x"},
			change: func(in *task.PlanInput) {
				in.Snapshot = `/pool/100%/"q"`
			},
			want: "[Service]\nExecStart=" + nspawn + ` --quiet --keep-unit --register=yes "--directory=/pool/100%%/\"q\""` +
				` --machine=web --kill-signal=SIGTERM "--bind=/pool/my vol/$$x:/data/100%%" -- /usr/bin/web` + "\n" +
				"KillMode=mixed\nDelegate=yes\n\n[X-Container]\nImage=app-web:3\nVolume=d:/data/100%%\n",
			mounts: []task.Mount{{Volume: "d", Source: "/pool/my vol/$x", Target: "/data/100%"}},
		},
		{
			name:    "with the : prefix, $ is not doubled",
			text:    "[Service]\nExecStart=:/usr/bin/web\n[X-Container]\nImage=app-web:3\nVolume=d:/data\n",
			volumes: map[string]string{"d": "/pool/$x"},
			want: "[Service]\nExecStart=:" + head + " --machine=web --kill-signal=SIGTERM --bind=/pool/$x:/data -- /usr/bin/web\n" +
				"KillMode=mixed\nDelegate=yes\n\n[X-Container]\nImage=app-web:3\nVolume=d:/data\n",
			mounts: []task.Mount{{Volume: "d", Source: "/pool/$x", Target: "/data"}},
		},
		{
			name: "reset ExecStart and own KillMode/Delegate dropped, the rest kept in order",
			text: "[Service]\nMemoryMax=1G\nExecStart=/old\nExecStart=\nKillMode=mixed\nExecStart=/usr/bin/web\n" +
				"Delegate=true\nRestart=always\n[X-Container]\nImage=app-web:3\n",
			want: "[Service]\nMemoryMax=1G\n" +
				"ExecStart=" + head + " --machine=web --kill-signal=SIGTERM -- /usr/bin/web\nKillMode=mixed\nDelegate=yes\n" +
				"Restart=always\n\n[X-Container]\nImage=app-web:3\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := tt.unit
			if name == "" {
				name = "web.service"
			}
			in := input(t, name, tt.text, tt.volumes)
			if tt.change != nil {
				tt.change(&in)
			}
			before := text(in.Options)
			spec, err := task.Plan(in)
			if err != nil {
				t.Fatalf("Plan: %v", err)
			}
			if got := text(spec.Options); got != tt.want {
				t.Errorf("options:\n%s\nwant:\n%s", got, tt.want)
			}
			if spec.Unit != name || spec.Machine != task.MachineName(name) || spec.DiskQuota != tt.quota {
				t.Errorf("Spec = %q %q %d", spec.Unit, spec.Machine, spec.DiskQuota)
			}
			wantMounts := tt.mounts
			if wantMounts == nil {
				wantMounts = []task.Mount{}
			}
			if !reflect.DeepEqual(spec.Mounts, wantMounts) {
				t.Errorf("Mounts = %+v, want %+v", spec.Mounts, wantMounts)
			}
			// The input is left alone, and the same input plans the same.
			if text(in.Options) != before {
				t.Errorf("Plan changed its input")
			}
			for range 5 {
				again, err := task.Plan(in)
				if err != nil || !reflect.DeepEqual(again, spec) {
					t.Fatalf("Plan again = %+v, %v", again, err)
				}
			}
			// What systemd gets reads back as the same options.
			back, err := sdunit.DeserializeOptions(strings.NewReader(tt.want))
			if err != nil || !sdunit.AllMatch(back, spec.Options) {
				t.Errorf("options do not read back: %v", err)
			}
		})
	}
}

func TestPlanErrors(t *testing.T) {
	good := "[Service]\nExecStart=/usr/bin/web\n[X-Container]\nImage=app-web:3\nVolume=d:/data\n"
	vols := map[string]string{"d": "/pool/d"}
	tests := []struct {
		name   string
		change func(in *task.PlanInput)
		err    string
	}{
		{"no container", func(in *task.PlanInput) { in.Container = nil }, "unit web.service: no [X-Container] section"},
		{"template", func(in *task.PlanInput) { in.Unit = "web@.service" }, "unit web@.service: a template does not run; its instances do"},
		{"container checked again", func(in *task.PlanInput) { in.Container.Volumes[0].Path = "/proc" },
			`unit web.service: invalid Volume "d:/proc": cannot mount a volume on /proc: systemd-nspawn manages /proc`},
		{"unit rules checked again", func(in *task.PlanInput) {
			in.Options = append(in.Options, sdunit.NewUnitOption("Service", "ExecStart", "/b"))
		}, "unit web.service: a container unit runs one command: only one ExecStart= is allowed"},
		{"relative nspawn", func(in *task.PlanInput) { in.Nspawn = "systemd-nspawn" },
			`task: plan for web.service: systemd-nspawn: path "systemd-nspawn" is not absolute`},
		{"no snapshot", func(in *task.PlanInput) { in.Snapshot = "" }, "task: plan for web.service: snapshot: empty path"},
		{"snapshot /", func(in *task.PlanInput) { in.Snapshot = "/" }, "task: plan for web.service: snapshot: the host's root cannot be a container's root"},
		{"unclean snapshot", func(in *task.PlanInput) { in.Snapshot = "/pool/../etc" }, `task: plan for web.service: snapshot: path "/pool/../etc" is not clean`},
		{"snapshot with a newline", func(in *task.PlanInput) { in.Snapshot = "/pool/a\nb" }, `task: plan for web.service: snapshot: path "/pool/a\nb" contains '\n'`},
		{"missing volume", func(in *task.PlanInput) { in.Volumes = nil }, `task: plan for web.service: no host path for volume "d"`},
		{"extra volume", func(in *task.PlanInput) { in.Volumes = map[string]string{"d": "/pool/d", "e": "/pool/e"} },
			`task: plan for web.service: host path given for volume "e", which the unit does not have`},
		{"volume with a colon", func(in *task.PlanInput) { in.Volumes = map[string]string{"d": "/pool/a:b"} },
			`task: plan for web.service: volume "d": path "/pool/a:b" contains ':'`},
		{"relative volume", func(in *task.PlanInput) { in.Volumes = map[string]string{"d": "pool/d"} },
			`task: plan for web.service: volume "d": path "pool/d" is not absolute`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := input(t, "web.service", good, vols)
			tt.change(&in)
			spec, err := task.Plan(in)
			if err == nil || err.Error() != tt.err {
				t.Errorf("Plan = %+v, %v\nwant error %q", spec, err, tt.err)
			}
		})
	}
}

func TestMachineName(t *testing.T) {
	long := strings.Repeat("a", 70)
	tests := []struct{ unit, want string }{
		{"web.service", "web"},
		{"Web-1.service", "Web-1"},
		{"web-3.service", "web-3"},
		{"web@3.service", "web-3-471a3055"}, // not "web-3": that is web-3.service's
		{"a_b.service", "a-b-3d0c5c84"},
		{"foo@bar.baz.service", "foo-bar-baz-6e2cd00b"},
		{long + ".service", ""}, // checked by shape below
	}
	for _, tt := range tests {
		t.Run(tt.unit, func(t *testing.T) {
			got := task.MachineName(tt.unit)
			if tt.unit == long+".service" {
				if len(got) != 64 || !strings.HasPrefix(got, strings.Repeat("a", 55)+"-") {
					t.Errorf("MachineName = %q (%d), want 55 a's, '-' and 8 hex digits", got, len(got))
				}
				return
			}
			if got != tt.want {
				t.Errorf("MachineName = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestExecWord(t *testing.T) {
	tests := []struct {
		in    string
		noEnv bool
		want  string
	}{
		{"/usr/bin/x", false, "/usr/bin/x"},
		{"--bind=/a:/b", false, "--bind=/a:/b"},
		{"", false, `""`},
		{"a b", false, `"a b"`},
		{";", false, `";"`},
		{`a"b\c`, false, `"a\"b\\c"`},
		{"100%", false, "100%%"},
		{"%i", true, "%%i"},
		{"$HOME", false, "$$HOME"},
		{"$HOME", true, "$HOME"},
		{"a\tb\nc\x01", false, `"a\tb\nc\x01"`},
		{"'", false, `"'"`},
		{"é", false, `"é"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := task.ExecWord(tt.in, tt.noEnv)
			if got != tt.want {
				t.Errorf("ExecWord(%q, %v) = %s, want %s", tt.in, tt.noEnv, got, tt.want)
			}
			// systemd's unquoting gives the word back (specifiers and
			// variables are systemd's to resolve afterwards).
			c, err := unit.ParseCommand("/x " + got)
			if err != nil || len(c.Argv) != 2 {
				t.Fatalf("ParseCommand(%s) = %+v, %v", got, c, err)
			}
			unq := c.Argv[1]
			unq = strings.ReplaceAll(unq, "%%", "%")
			if !tt.noEnv {
				unq = strings.ReplaceAll(unq, "$$", "$")
			}
			if unq != tt.in {
				t.Errorf("unquoted back to %q, want %q", unq, tt.in)
			}
		})
	}
}
