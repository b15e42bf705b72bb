package unit_test

import (
	"errors"
	"reflect"
	"regexp"
	"strings"
	"testing"

	sdunit "github.com/coreos/go-systemd/v22/unit"

	"github.com/flota-dev/flota/unit"
)

// containerFile is a unit with service in [Service] from line 2 (no
// [Service] when service is "-"; at most 6 lines) and body in
// [X-Container] from line 9.
func containerFile(service, body string) []byte {
	head := "[Service]\n"
	if service == "-" {
		head, service = "[Unit]\n", "Description=c"
	}
	n := strings.Count(service, "\n") + 1
	return []byte(head + service + strings.Repeat("\n", 7-n) + "[X-Container]\n" + body)
}

const run = "ExecStart=/usr/bin/web --port 8080\nMemoryMax=1G"

func TestContainer(t *testing.T) {
	img := unit.Image{Name: "app-web", Tag: "3"}
	base := func(c unit.Container) *unit.Container {
		if c.Image == (unit.Image{}) {
			c.Image = img
		}
		if c.Network == "" {
			c.Network = unit.NetworkHost
		}
		return &c
	}
	tests := []struct {
		name    string
		unit    string // default web@3.service
		service string // default run; "-" for no [Service]
		body    string
		want    *unit.Container
	}{
		{name: "image only, defaults", body: "Image=app-web:3\n", want: base(unit.Container{})},
		{name: "image name with dots and dashes", body: "Image=a.b_c-d9:v1.2-rc_3\n",
			want: base(unit.Container{Image: unit.Image{Name: "a.b_c-d9", Tag: "v1.2-rc_3"}})},
		{name: "volume", body: "Image=app-web:3\nVolume=data:/var/lib/web\n",
			want: base(unit.Container{Volumes: []unit.Volume{{Name: "data", Path: "/var/lib/web"}}})},
		{name: "volumes in order, ro and rw", body: "Image=app-web:3\nVolume=b:/b:ro\nVolume=a_1:/a:rw\n",
			want: base(unit.Container{Volumes: []unit.Volume{{Name: "b", Path: "/b", ReadOnly: true}, {Name: "a_1", Path: "/a"}}})},
		{name: "same volume at two paths", body: "Image=app-web:3\nVolume=v:/x\nVolume=v:/y:ro\n",
			want: base(unit.Container{Volumes: []unit.Volume{{Name: "v", Path: "/x"}, {Name: "v", Path: "/y", ReadOnly: true}}})},
		{name: "specifiers in volumes", body: "Image=app-web:3\nVolume=%p-data-%i:/srv/%N/%i\n",
			want: base(unit.Container{Volumes: []unit.Volume{{Name: "web-data-3", Path: "/srv/web@3/3"}}})},
		{name: "%n and %% in a path", body: "Image=app-web:3\nVolume=v:/srv/%n/100%%\n",
			want: base(unit.Container{Volumes: []unit.Volume{{Name: "v", Path: "/srv/web@3.service/100%"}}})},
		{name: "template keeps specifiers", unit: "web@.service", body: "Image=app-web:3\nVolume=data-%i:/srv/%i\n",
			want: base(unit.Container{Volumes: []unit.Volume{{Name: "data-%i", Path: "/srv/%i"}}})},
		{name: "template: %i alone is fine", unit: "web@.service", body: "Image=app-web:3\nVolume=%i:/data\n",
			want: base(unit.Container{Volumes: []unit.Volume{{Name: "%i", Path: "/data"}}})},
		{name: "plain unit: %i is empty", unit: "web.service", body: "Image=app-web:3\nVolume=data%i:/data\n",
			want: base(unit.Container{Volumes: []unit.Volume{{Name: "data", Path: "/data"}}})},
		{name: "DiskQuota bytes", body: "Image=app-web:3\nDiskQuota=4096\n", want: base(unit.Container{DiskQuota: 4096})},
		{name: "DiskQuota K", body: "Image=app-web:3\nDiskQuota=3K\n", want: base(unit.Container{DiskQuota: 3 << 10})},
		{name: "DiskQuota M", body: "Image=app-web:3\nDiskQuota=512M\n", want: base(unit.Container{DiskQuota: 512 << 20})},
		{name: "DiskQuota G", body: "Image=app-web:3\nDiskQuota=2G\n", want: base(unit.Container{DiskQuota: 2 << 30})},
		{name: "DiskQuota T", body: "Image=app-web:3\nDiskQuota=1T\n", want: base(unit.Container{DiskQuota: 1 << 40})},
		{name: "Boot=no", body: "Image=app-web:3\nBoot=no\n", want: base(unit.Container{})},
		{name: "Boot=yes without ExecStart", service: "MemoryMax=1G", body: "Image=app-web:3\nBoot=yes\n",
			want: base(unit.Container{Boot: true})},
		{name: "Boot=true without a Service section", service: "-", body: "Boot=true\nImage=app-web:3\n",
			want: base(unit.Container{Boot: true})},
		{name: "Network=host", body: "Image=app-web:3\nNetwork=host\n", want: base(unit.Container{})},
		{name: "Network=private", body: "Image=app-web:3\nNetwork=private\n", want: base(unit.Container{Network: unit.NetworkPrivate})},
		{name: "PrivateUsers=yes", body: "Image=app-web:3\nPrivateUsers=yes\n", want: base(unit.Container{PrivateUsers: true})},
		{name: "sections accumulate", body: "Image=app-web:3\n[X-Fleet]\nGlobal=true\n[X-Container]\nVolume=v:/v\n",
			want: base(unit.Container{Volumes: []unit.Volume{{Name: "v", Path: "/v"}}})},
		{name: "Type=notify", service: "Type=notify\n" + run, body: "Image=app-web:3\n", want: base(unit.Container{})},
		{name: "Type=exec", service: "Type=exec\n" + run, body: "Image=app-web:3\n", want: base(unit.Container{})},
		{name: "Type=simple", service: "Type=simple\n" + run, body: "Image=app-web:3\n", want: base(unit.Container{})},
		{name: "Type reset", service: "Type=forking\nType=\n" + run, body: "Image=app-web:3\n", want: base(unit.Container{})},
		{name: "ExecStart reset then set", service: "ExecStart=/a\nExecStart=\nExecStart=/b", body: "Image=app-web:3\n", want: base(unit.Container{})},
		{name: "a hook reset is no hook", service: "ExecStartPre=/bin/mkdir -p /x\nExecStartPre=\n" + run,
			body: "Image=app-web:3\n", want: base(unit.Container{})},
		{name: "KillMode=mixed and Delegate=yes are allowed", service: "KillMode=mixed\nDelegate=yes\n" + run,
			body: "Image=app-web:3\n", want: base(unit.Container{})},
		{name: "DynamicUser=no is allowed", service: "DynamicUser=no\nUser=\n" + run, body: "Image=app-web:3\n", want: base(unit.Container{})},
		{name: "ignore-failure prefix", service: "ExecStart=-/bin/app", body: "Image=app-web:3\n", want: base(unit.Container{})},
		{name: "all keys", body: "Image=app-web:3\nVolume=data:/data\nDiskQuota=2G\nBoot=no\nNetwork=private\n",
			want: base(unit.Container{Volumes: []unit.Volume{{Name: "data", Path: "/data"}}, DiskQuota: 2 << 30, Network: unit.NetworkPrivate})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := tt.unit
			if name == "" {
				name = "web@3.service"
			}
			service := tt.service
			if service == "" {
				service = run
			}
			f, err := unit.Parse(name, containerFile(service, tt.body))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(f.Container, tt.want) {
				t.Errorf("Container = %#v\nwant        %#v", f.Container, tt.want)
			}
			c, err := unit.ParseContainer(name, f.Options)
			if err != nil || !reflect.DeepEqual(c, tt.want) {
				t.Errorf("ParseContainer = %#v, %v", c, err)
			}
			if !unit.IsTemplate(name) {
				if err := unit.ValidateContainer(name, c, f.Options); err != nil {
					t.Errorf("ValidateContainer: %v", err)
				}
			}
		})
	}
}

func TestNoContainer(t *testing.T) {
	f, err := unit.Parse("web.service", []byte("[Service]\nExecStart=/bin/true\nType=oneshot\nUser=nobody\n"))
	if err != nil || f.Container != nil {
		t.Fatalf("Parse = %+v, %v; want no Container", f, err)
	}
	// The section name is case sensitive, as [X-Fleet]'s.
	f, err = unit.Parse("web.service", []byte("[x-container]\nFoo=1\n"))
	if err != nil || f.Container != nil {
		t.Fatalf("Parse = %+v, %v; want no Container", f, err)
	}
}

func TestContainerErrors(t *testing.T) {
	tests := []struct {
		name    string
		unit    string // default web@3.service
		service string // default run, "-" for no [Service]; from line 1
		body    string // line 9 is the body's first line
		line    int
		msg     string
	}{
		// [X-Container] keys and values.
		{"unknown key", "", "", "Image=app-web:3\nImages=x\n", 10, `unknown key "Images" in [X-Container] (known: Image, Volume, DiskQuota, Boot, Network, PrivateUsers)`},
		{"keys are case sensitive", "", "", "image=app-web:3\n", 9, `unknown key "image" in [X-Container] (known: Image, Volume, DiskQuota, Boot, Network, PrivateUsers)`},
		{"no Image", "", "", "\nVolume=a:/a\n", 10, "Image= is required in [X-Container]"},
		{"empty Image", "", "", "Image=\n", 9, `invalid Image "": empty image`},
		{"Image without tag", "", "", "Image=app-web\n", 9, `invalid Image "app-web": want NAME:TAG`},
		{"Image with empty tag", "", "", "Image=app-web:\n", 9, `invalid Image "app-web:": tag "": want letters, digits, '.', '-' and '_', not starting with '.' or '-'`},
		{"Image upper case", "", "", "Image=App:1\n", 9, `invalid Image "App:1": name "App": want lower-case letters, digits, '.', '-' and '_', starting with a letter or digit`},
		{"Image with a slash", "", "", "Image=fb/app:1\n", 9, `invalid Image "fb/app:1": name "fb/app": want lower-case letters, digits, '.', '-' and '_', starting with a letter or digit`},
		{"Image starting with a dot", "", "", "Image=.app:1\n", 9, `invalid Image ".app:1": name ".app": want lower-case letters, digits, '.', '-' and '_', starting with a letter or digit`},
		{"Image tag with a colon", "", "", "Image=app:1:2\n", 9, `invalid Image "app:1:2": tag "1:2": want letters, digits, '.', '-' and '_', not starting with '.' or '-'`},
		{"Image tag starting with a dash", "", "", "Image=app:-1\n", 9, `invalid Image "app:-1": tag "-1": want letters, digits, '.', '-' and '_', not starting with '.' or '-'`},
		{"Image too long", "", "", "Image=" + strings.Repeat("a", 129) + ":1\n", 9, `invalid Image "` + strings.Repeat("a", 129) + `:1": name and tag are at most 128 characters each`},
		{"Image specifiers are not resolved", "", "", "Image=app:%i\n", 9, `invalid Image "app:%i": tag "%i": want letters, digits, '.', '-' and '_', not starting with '.' or '-'`},
		{"Image twice", "", "", "Image=a:1\n\nImage=a:1\n", 11, "Image= given twice in [X-Container] (first on line 9)"},
		{"Image twice across sections", "", "", "Image=a:1\n[X-Container]\nImage=b:1\n", 11, "Image= given twice in [X-Container] (first on line 9)"},
		{"Volume without path", "", "", "Image=a:1\nVolume=data\n", 10, `invalid Volume "data": want NAME:/path/in/container[:ro]`},
		{"Volume with too many parts", "", "", "Image=a:1\nVolume=d:/a:ro:x\n", 10, `invalid Volume "d:/a:ro:x": want NAME:/path/in/container[:ro]`},
		{"empty Volume", "", "", "Image=a:1\nVolume=\n", 10, `invalid Volume "": want NAME:/path/in/container[:ro]`},
		{"Volume bad mode", "", "", "Image=a:1\nVolume=d:/a:RO\n", 10, `invalid Volume "d:/a:RO": unknown mode "RO": want ro or rw`},
		{"Volume empty name", "", "", "Image=a:1\nVolume=:/a\n", 10, `invalid Volume ":/a": empty volume name`},
		{"Volume upper-case name", "", "", "Image=a:1\nVolume=Data:/a\n", 10, `invalid Volume "Data:/a": volume name "Data": want lower-case letters, digits, '-' and '_', starting with a letter or digit`},
		{"Volume name with a dot", "", "", "Image=a:1\nVolume=a.b:/a\n", 10, `invalid Volume "a.b:/a": volume name "a.b": want lower-case letters, digits, '-' and '_', starting with a letter or digit`},
		{"Volume name starting with _", "", "", "Image=a:1\nVolume=_a:/a\n", 10, `invalid Volume "_a:/a": volume name "_a": want lower-case letters, digits, '-' and '_', starting with a letter or digit`},
		{"Volume name from %n", "", "", "Image=a:1\nVolume=%n:/a\n", 10, `invalid Volume "%n:/a": volume name "web@3.service": want lower-case letters, digits, '-' and '_', starting with a letter or digit`},
		{"Volume name from an upper-case instance", "web@A.service", "", "Image=a:1\nVolume=d-%i:/a\n", 10, `invalid Volume "d-%i:/a": volume name "d-A": want lower-case letters, digits, '-' and '_', starting with a letter or digit`},
		{"Volume name empty from %i", "web.service", "", "Image=a:1\nVolume=%i:/a\n", 10, `invalid Volume "%i:/a": empty volume name`},
		{"Volume name too long", "", "", "Image=a:1\nVolume=" + strings.Repeat("v", 129) + ":/a\n", 10, `invalid Volume "` + strings.Repeat("v", 129) + `:/a": volume name longer than 128 characters`},
		{"Volume unknown specifier", "", "", "Image=a:1\nVolume=d-%I:/a\n", 10, `invalid Volume "d-%I:/a": unknown specifier "%I"`},
		{"template: unknown specifier", "web@.service", "", "Image=a:1\nVolume=d:/%z\n", 10, `invalid Volume "d:/%z": unknown specifier "%z"`},
		{"template: bad name after resolution", "web@.service", "", "Image=a:1\nVolume=%p.%i:/a\n", 10, `invalid Volume "%p.%i:/a": volume name "web.0": want lower-case letters, digits, '-' and '_', starting with a letter or digit`},
		{"Volume relative path", "", "", "Image=a:1\nVolume=d:data\n", 10, `invalid Volume "d:data": path "data" is not absolute`},
		{"Volume empty path", "", "", "Image=a:1\nVolume=d:\n", 10, `invalid Volume "d:": empty path`},
		{"Volume path with ..", "", "", "Image=a:1\nVolume=d:/a/../etc\n", 10, `invalid Volume "d:/a/../etc": path "/a/../etc" is not clean (no "..", ".", "//" or trailing "/")`},
		{"Volume path /..", "", "", "Image=a:1\nVolume=d:/..\n", 10, `invalid Volume "d:/..": path "/.." is not clean (no "..", ".", "//" or trailing "/")`},
		{"Volume path trailing slash", "", "", "Image=a:1\nVolume=d:/a/\n", 10, `invalid Volume "d:/a/": path "/a/" is not clean (no "..", ".", "//" or trailing "/")`},
		{"Volume path trailing slash from %i", "web.service", "", "Image=a:1\nVolume=d:/a/%i\n", 10, `invalid Volume "d:/a/%i": path "/a/" is not clean (no "..", ".", "//" or trailing "/")`},
		{"Volume path double slash", "", "", "Image=a:1\nVolume=d://a\n", 10, `invalid Volume "d://a": path "//a" is not clean (no "..", ".", "//" or trailing "/")`},
		{"Volume on /", "", "", "Image=a:1\nVolume=d:/\n", 10, `invalid Volume "d:/": cannot mount a volume on /`},
		{"Volume on /proc", "", "", "Image=a:1\nVolume=d:/proc\n", 10, `invalid Volume "d:/proc": cannot mount a volume on /proc: systemd-nspawn manages /proc`},
		{"Volume under /sys", "", "", "Image=a:1\nVolume=d:/sys/fs\n", 10, `invalid Volume "d:/sys/fs": cannot mount a volume on /sys/fs: systemd-nspawn manages /sys`},
		{"Volume under /dev", "", "", "Image=a:1\nVolume=d:/dev/shm\n", 10, `invalid Volume "d:/dev/shm": cannot mount a volume on /dev/shm: systemd-nspawn manages /dev`},
		{"Volume path with a space", "", "", "Image=a:1\nVolume=d:/a b\n", 10, `invalid Volume "d:/a b": path "/a b" contains ' '`},
		{"Volume path with a backslash", "", "", "Image=a:1\nVolume=d:/a\\b\n", 10, `invalid Volume "d:/a\\b": path "/a\\b" contains '\\'`},
		{"Volume path with a colon from %i", "web@a:b.service", "", "Image=a:1\nVolume=d:/srv/%i\n", 10, `invalid Volume "d:/srv/%i": path "/srv/a:b" contains ':'`},
		{"Volume same mount point", "", "", "Image=a:1\nVolume=a:/data\nVolume=b:/data:ro\n", 11, `invalid Volume "b:/data:ro": /data is already the mount point of Volume "a:/data"`},
		{"DiskQuota empty", "", "", "Image=a:1\nDiskQuota=\n", 10, `invalid DiskQuota "": want a number of bytes with an optional K, M, G or T suffix`},
		{"DiskQuota zero", "", "", "Image=a:1\nDiskQuota=0G\n", 10, `invalid DiskQuota "0G": must be greater than 0`},
		{"DiskQuota negative", "", "", "Image=a:1\nDiskQuota=-1\n", 10, `invalid DiskQuota "-1": want a number of bytes with an optional K, M, G or T suffix`},
		{"DiskQuota lower-case suffix", "", "", "Image=a:1\nDiskQuota=2g\n", 10, `invalid DiskQuota "2g": want a number of bytes with an optional K, M, G or T suffix`},
		{"DiskQuota unknown suffix", "", "", "Image=a:1\nDiskQuota=2P\n", 10, `invalid DiskQuota "2P": want a number of bytes with an optional K, M, G or T suffix`},
		{"DiskQuota suffix alone", "", "", "Image=a:1\nDiskQuota=G\n", 10, `invalid DiskQuota "G": want a number of bytes with an optional K, M, G or T suffix`},
		{"DiskQuota fraction", "", "", "Image=a:1\nDiskQuota=1.5G\n", 10, `invalid DiskQuota "1.5G": want a number of bytes with an optional K, M, G or T suffix`},
		{"DiskQuota overflow", "", "", "Image=a:1\nDiskQuota=16777216T\n", 10, `invalid DiskQuota "16777216T": too large`},
		{"DiskQuota twice", "", "", "DiskQuota=1G\nImage=a:1\nDiskQuota=1G\n", 11, "DiskQuota= given twice in [X-Container] (first on line 9)"},
		{"Boot bad", "", "", "Image=a:1\nBoot=maybe\n", 10, `invalid Boot "maybe": want yes or no`},
		{"PrivateUsers bad", "", "", "Image=a:1\nPrivateUsers=pick\n", 10, `invalid PrivateUsers "pick": want yes or no`},
		{"PrivateUsers twice", "", "", "Image=a:1\nPrivateUsers=yes\nPrivateUsers=no\n", 11, "PrivateUsers= given twice in [X-Container] (first on line 10)"},
		{"Boot twice", "", "", "Image=a:1\nBoot=no\nBoot=no\n", 11, "Boot= given twice in [X-Container] (first on line 10)"},
		{"Network bad", "", "", "Image=a:1\nNetwork=bridge\n", 10, `invalid Network "bridge": want host or private`},
		{"Network is case sensitive", "", "", "Image=a:1\nNetwork=Private\n", 10, `invalid Network "Private": want host or private`},
		{"Network twice", "", "", "Image=a:1\nNetwork=host\nNetwork=private\n", 11, "Network= given twice in [X-Container] (first on line 10)"},

		// The rest of the unit.
		{"not a service", "web@3.socket", "ListenStream=80", "Image=a:1\n", 9, "[X-Container] is only for .service units, not .socket"},
		{"timer", "web.timer", "", "Image=a:1\n", 9, "[X-Container] is only for .service units, not .timer"},
		{"Type=oneshot", "", "Type=oneshot\n" + run, "Image=a:1\n", 2, "Type=oneshot cannot be used in a container unit: want simple, exec or notify"},
		{"Type=forking", "", run + "\nType=forking", "Image=a:1\n", 4, "Type=forking cannot be used in a container unit: want simple, exec or notify"},
		{"Type=dbus", "", "Type=dbus\n" + run, "Image=a:1\n", 2, "Type=dbus cannot be used in a container unit: want simple, exec or notify"},
		{"no ExecStart", "", "MemoryMax=1G", "Image=a:1\n", 9, "a container unit needs one ExecStart= in [Service], or Boot=yes"},
		{"no Service section", "", "-", "Image=a:1\n", 9, "a container unit needs one ExecStart= in [Service], or Boot=yes"},
		{"ExecStart reset to nothing", "", "ExecStart=/a\nExecStart=", "Image=a:1\n", 9, "a container unit needs one ExecStart= in [Service], or Boot=yes"},
		{"two ExecStart", "", "ExecStart=/a\nExecStart=/b", "Image=a:1\n", 3, "a container unit runs one command: only one ExecStart= is allowed"},
		{"ExecStart with Boot=yes", "", run, "Image=a:1\nBoot=yes\n", 2, "ExecStart= cannot be used with Boot=yes: the container runs its image's init"},
		{"ExecStart; two commands", "", "ExecStart=/a x ; /b", "Image=a:1\n", 2, `invalid ExecStart=: more than one command (separated by ";"); a container runs one`},
		{"ExecStart @ prefix", "", "ExecStart=@/bin/app app", "Image=a:1\n", 2, `invalid ExecStart=: prefix "@" cannot be used in a container unit`},
		{"ExecStart + prefix", "", "ExecStart=-+/bin/app", "Image=a:1\n", 2, `invalid ExecStart=: prefix "+" cannot be used in a container unit`},
		{"ExecStart ! prefix", "", "ExecStart=!!/bin/app", "Image=a:1\n", 2, `invalid ExecStart=: prefix "!" cannot be used in a container unit`},
		{"ExecStart quoted prefix", "", `ExecStart="-/bin/app"`, "Image=a:1\n", 2, `invalid ExecStart=: prefix "-" must come before any quote or escape`},
		{"ExecStart only a prefix", "", "ExecStart=- x", "Image=a:1\n", 2, `invalid ExecStart=: no command after prefix "-"`},
		{"ExecStart unbalanced quote", "", `ExecStart=/bin/sh -c "echo`, "Image=a:1\n", 2, `invalid ExecStart=: unbalanced quote "\""`},
		{"ExecStart bad escape", "", `ExecStart=/bin/echo a\qb`, "Image=a:1\n", 2, `invalid ExecStart=: invalid escape "\\q"`},
		{"ExecStop", "", run + "\nExecStop=/bin/app stop", "Image=a:1\n", 4, "ExecStop= cannot be used in a container unit: it would run on the host, outside the container; stopping the container is systemd-nspawn's job"},
		{"ExecReload", "", "ExecReload=/bin/kill -HUP $MAINPID\n" + run, "Image=a:1\n", 2, "ExecReload= cannot be used in a container unit: it would run on the host, outside the container"},
		{"ExecStartPre", "", "ExecStartPre=/bin/mkdir -p /x\n" + run, "Image=a:1\n", 2, "ExecStartPre= cannot be used in a container unit: it would run on the host, outside the container; a container unit's one command is its ExecStart=, run inside it"},
		{"ExecStartPost", "", run + "\nExecStartPost=/bin/true", "Image=a:1\n", 4, "ExecStartPost= cannot be used in a container unit: it would run on the host, outside the container; a container unit's one command is its ExecStart=, run inside it"},
		{"ExecCondition", "", "ExecCondition=/bin/true\n" + run, "Image=a:1\n", 2, "ExecCondition= cannot be used in a container unit: it would run on the host, outside the container; a container unit's one command is its ExecStart=, run inside it"},
		{"ExecStopPost", "", run + "\nExecStopPost=/bin/true", "Image=a:1\n", 4, "ExecStopPost= cannot be used in a container unit: it would run on the host, outside the container; stopping the container is systemd-nspawn's job"},
		{"User", "", "User=web\n" + run, "Image=a:1\n", 2, "User= cannot be used in a container unit: it would apply to systemd-nspawn, which runs as root"},
		{"Group", "", "Group=web\n" + run, "Image=a:1\n", 2, "Group= cannot be used in a container unit: it would apply to systemd-nspawn, which runs as root"},
		{"DynamicUser", "", "DynamicUser=yes\n" + run, "Image=a:1\n", 2, "DynamicUser= cannot be used in a container unit: it would apply to systemd-nspawn, which runs as root"},
		{"RootDirectory", "", "RootDirectory=/srv/root\n" + run, "Image=a:1\n", 2, "RootDirectory= cannot be used in a container unit: the container's root is its image"},
		{"RootImage", "", "RootImage=/x.raw\n" + run, "Image=a:1\n", 2, "RootImage= cannot be used in a container unit: the container's root is its image"},
		{"KillMode", "", "KillMode=process\n" + run, "Image=a:1\n", 2, "KillMode=process cannot be used in a container unit: it runs with KillMode=mixed"},
		{"Delegate=no", "", "Delegate=no\n" + run, "Image=a:1\n", 2, "Delegate=no cannot be used in a container unit: it runs with Delegate=yes"},
		{"Delegate controllers", "", "Delegate=cpu memory\n" + run, "Image=a:1\n", 2, "Delegate=cpu memory cannot be used in a container unit: it runs with Delegate=yes"},
		{"section errors come first", "", "Type=forking", "Image=a:1\nBoot=maybe\n", 10, `invalid Boot "maybe": want yes or no`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := tt.unit
			if name == "" {
				name = "web@3.service"
			}
			service := tt.service
			if service == "" {
				service = run
			}
			data := containerFile(service, tt.body)
			_, err := unit.Parse(name, data)
			var e *unit.Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse = %v, want *unit.Error", err)
			}
			if !errors.Is(err, unit.ErrInvalidUnit) {
				t.Errorf("Kind = %v, want ErrInvalidUnit", e.Kind)
			}
			if e.Msg != tt.msg || e.Line != tt.line || e.Unit != name {
				t.Errorf("got %q at line %d of %q\nwant %q at line %d", e.Msg, e.Line, e.Unit, tt.msg, tt.line)
			}
			// Without the text, the same error without a line.
			_, err = unit.ParseContainer(name, mustOptions(t, data))
			noLine := regexp.MustCompile(` \(first on line \d+\)`).ReplaceAllString(tt.msg, "")
			if !errors.As(err, &e) || e.Msg != noLine || e.Line != 0 {
				t.Errorf("ParseContainer = %v, want %q without line", err, tt.msg)
			}
		})
	}
}

func TestContainerForName(t *testing.T) {
	tpl, err := unit.Parse("web@.service", containerFile(run, "Image=app-web:3\nVolume=data-%i:/srv/%p/%i:ro\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, inst := range []string{"1", "b-2"} {
		f, err := tpl.ForName("web@" + inst + ".service")
		want := []unit.Volume{{Name: "data-" + inst, Path: "/srv/web/" + inst, ReadOnly: true}}
		if err != nil || f.Container == nil || !reflect.DeepEqual(f.Container.Volumes, want) {
			t.Errorf("ForName(web@%s) = %+v, %v; want volumes %+v", inst, f, err, want)
		}
	}
	// An instance whose name makes a bad volume name is refused.
	_, err = tpl.ForName("web@X.service")
	if !errors.Is(err, unit.ErrInvalidUnit) || !strings.Contains(err.Error(), `volume name "data-X"`) {
		t.Errorf("ForName(web@X) = %v", err)
	}
	// A plain unit keeps no Container when it has no section.
	plain, err := unit.Parse("web.service", []byte("[Service]\nExecStart=/bin/true\n"))
	if err != nil {
		t.Fatal(err)
	}
	if f, err := plain.ForName("other.service"); err != nil || f.Container != nil {
		t.Errorf("ForName = %+v, %v", f, err)
	}
}

func TestValidateContainer(t *testing.T) {
	opts := []*sdunit.UnitOption{sdunit.NewUnitOption("Service", "ExecStart", "/bin/app")}
	good := unit.Container{Image: unit.Image{Name: "a", Tag: "1"}, Network: unit.NetworkHost,
		Volumes: []unit.Volume{{Name: "v", Path: "/v"}}}
	tests := []struct {
		name   string
		unit   string
		change func(c *unit.Container)
		opts   []*sdunit.UnitOption
		err    string // "" for none
	}{
		{name: "good"},
		{name: "template", unit: "web@.service", err: "unit web@.service: a template does not run; its instances do"},
		{name: "bad name", unit: "web", err: `unit web: unit name must contain "."`},
		{name: "bad image", change: func(c *unit.Container) { c.Image.Tag = "" },
			err: `unit web.service: invalid Image "a:": tag "": want letters, digits, '.', '-' and '_', not starting with '.' or '-'`},
		{name: "no network", change: func(c *unit.Container) { c.Network = "" },
			err: `unit web.service: invalid Network "": want host or private`},
		{name: "bad volume", change: func(c *unit.Container) { c.Volumes[0].Path = "/a/../b" },
			err: `unit web.service: invalid Volume "v:/a/../b": path "/a/../b" is not clean (no "..", ".", "//" or trailing "/")`},
		{name: "same mount point", change: func(c *unit.Container) {
			c.Volumes = append(c.Volumes, unit.Volume{Name: "w", Path: "/v", ReadOnly: true})
		},
			err: `unit web.service: invalid Volume "w:/v:ro": /v is already the mount point of Volume "v:/v"`},
		{name: "boot with ExecStart", change: func(c *unit.Container) { c.Boot = true },
			err: "unit web.service: ExecStart= cannot be used with Boot=yes: the container runs its image's init"},
		{name: "no options", opts: []*sdunit.UnitOption{}, err: "unit web.service: a container unit needs one ExecStart= in [Service], or Boot=yes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			c.Volumes = append([]unit.Volume(nil), good.Volumes...)
			if tt.change != nil {
				tt.change(&c)
			}
			name, o := tt.unit, tt.opts
			if name == "" {
				name = "web.service"
			}
			if o == nil {
				o = opts
			}
			err := unit.ValidateContainer(name, &c, o)
			if got := errString(err); got != tt.err {
				t.Errorf("ValidateContainer = %q, want %q", got, tt.err)
			}
		})
	}
	if err := unit.ValidateContainer("web.service", nil, opts); errString(err) != "unit web.service: no [X-Container] section" {
		t.Errorf("ValidateContainer(nil) = %v", err)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestParseCommand(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		prefix string
		words  []string
		argv   []string
	}{
		{"plain", "/bin/app --port 80", "", []string{"/bin/app", "--port", "80"}, []string{"/bin/app", "--port", "80"}},
		{"blanks", "  /bin/app\t a  ", "", []string{"/bin/app", "a"}, []string{"/bin/app", "a"}},
		{"double quotes", `/bin/sh -c "echo hi"`, "", []string{"/bin/sh", "-c", `"echo hi"`}, []string{"/bin/sh", "-c", "echo hi"}},
		{"single quotes", `/bin/sh -c 'echo "hi"'`, "", []string{"/bin/sh", "-c", `'echo "hi"'`}, []string{"/bin/sh", "-c", `echo "hi"`}},
		{"quotes inside a word", `/bin/x a"b c"d`, "", []string{"/bin/x", `a"b c"d`}, []string{"/bin/x", "ab cd"}},
		{"empty quotes", `/bin/x ""`, "", []string{"/bin/x", `""`}, []string{"/bin/x", ""}},
		{"escapes", `/bin/x a\sb \x41\101\u00e9 "\"\\"`, "", []string{"/bin/x", `a\sb`, `\x41\101\u00e9`, `"\"\\"`}, []string{"/bin/x", "a b", "AAé", `"\`}},
		{"literal semicolon", `/bin/x \; ";" a;b`, "", []string{"/bin/x", `\;`, `";"`, "a;b"}, []string{"/bin/x", ";", ";", "a;b"}},
		{"specifiers and variables kept", `/bin/x %i ${A} $B "$C"`, "", []string{"/bin/x", "%i", "${A}", "$B", `"$C"`}, []string{"/bin/x", "%i", "${A}", "$B", "$C"}},
		{"continuation", "/bin/x a \\\n  b", "", []string{"/bin/x", "a", "b"}, []string{"/bin/x", "a", "b"}},
		{"prefix -", "-/bin/x", "-", []string{"/bin/x"}, []string{"/bin/x"}},
		{"prefix -:", "-:/bin/x $A", "-:", []string{"/bin/x", "$A"}, []string{"/bin/x", "$A"}},
		{"prefix :-", ":-/bin/x", ":-", []string{"/bin/x"}, []string{"/bin/x"}},
		{"repeated prefix is the path", "--/bin/x", "-", []string{"-/bin/x"}, []string{"-/bin/x"}},
		{"prefix then quoted path", `-"/bin/my app"`, "-", []string{`"/bin/my app"`}, []string{"/bin/my app"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := unit.ParseCommand(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if c.Prefix != tt.prefix || !reflect.DeepEqual(c.Words, tt.words) || !reflect.DeepEqual(c.Argv, tt.argv) {
				t.Errorf("ParseCommand = %q %q %q\nwant           %q %q %q", c.Prefix, c.Words, c.Argv, tt.prefix, tt.words, tt.argv)
			}
			if c.IgnoreFailure() != strings.Contains(tt.prefix, "-") || c.NoEnvExpand() != strings.Contains(tt.prefix, ":") {
				t.Errorf("IgnoreFailure, NoEnvExpand = %v, %v", c.IgnoreFailure(), c.NoEnvExpand())
			}
		})
	}
}

func TestParseCommandErrors(t *testing.T) {
	tests := []struct{ name, in, err string }{
		{"empty", "", "empty command"},
		{"blank", " \t", "empty command"},
		{"separator", "/a ; /b", `more than one command (separated by ";"); a container runs one`},
		{"trailing separator", "/a ;", `more than one command (separated by ";"); a container runs one`},
		{"trailing backslash", `/a b\`, "command ends in a backslash"},
		{"backslash blank", `/a b\ c`, `invalid escape "\\ "`},
		{"short \\x", `/a \x4`, `invalid escape "\\x4"`},
		{"bad \\x", `/a \xzz`, `invalid escape "\\xzz"`},
		{"NUL \\x", `/a \x00`, `invalid escape "\\x00"`},
		{"NUL octal", `/a \000`, `invalid escape "\\000"`},
		{"octal too large", `/a \777`, `invalid escape "\\777"`},
		{"short octal", `/a \12`, `invalid escape "\\12"`},
		{"surrogate", `/a \ud800`, `invalid escape "\\ud800"`},
		{"beyond unicode", `/a \U00110000`, `invalid escape "\\U00110000"`},
		{"unbalanced single", `/a 'b`, `unbalanced quote "'"`},
		{"escaped prefix", `\x2d/a`, `prefix "-" must come before any quote or escape`},
		{"| prefix", `|/a`, `prefix "|" cannot be used in a container unit`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := unit.ParseCommand(tt.in)
			if errString(err) != tt.err {
				t.Errorf("ParseCommand = %v, want %q", err, tt.err)
			}
		})
	}
}
