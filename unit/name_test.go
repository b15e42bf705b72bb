package unit_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/flota-dev/flota/unit"
)

func TestValidateName(t *testing.T) {
	long := strings.Repeat("a", 249) + ".service" // 257 bytes
	max := strings.Repeat("a", 248) + ".service"  // 256 bytes
	tests := []struct {
		name    string
		unit    string
		wantMsg string // "" = valid
	}{
		{"plain service", "web.service", ""},
		{"template", "web@.service", ""},
		{"instance", "web@3.service", ""},
		{"instance with dots", "foo@bar.baz.service", ""},
		{"instance with @", "foo@a@b.service", ""},
		{"every allowed character", `a-Z_0:9.x\y@i.socket`, ""},
		{"every type", "x.automount", ""},
		{"busname", "x.busname", ""},
		{"template timer", "t@.timer", ""},
		{"template target", "t@.target", ""},
		{"template path", "t@.path", ""},
		{"template socket", "t@.socket", ""},
		{"exactly the maximum length", max, ""},
		{"empty type stem, as fleet", ".service", ""},

		{"empty", "", "unit name cannot be empty"},
		{"too long", long, "unit name exceeds maximum length (256)"},
		{"no dot", "web", `unit name must contain "."`},
		{"ends in dot", "web.", `unit name cannot end in "."`},
		{"unknown type", "web.serv", `invalid unit type: "serv"`},
		{"type is case sensitive", "web.Service", `invalid unit type: "Service"`},
		{"template of mount", "data@.mount", `invalid unit type for template: "mount"`},
		{"instance of scope", "x@1.scope", `invalid unit type for template: "scope"`},
		{"space", "my web.service", `invalid character ' ' in unit name`},
		{"slash", "a/b.service", `invalid character '/' in unit name`},
		{"non-ASCII", "café.service", `invalid character 'é' in unit name`},
		{"starts with @", "@web.service", `unit name cannot start in "@"`},
		{"bare template", "@.service", `unit name cannot start in "@"`},

		// The checks run in fleet's order: the first failing one is reported.
		{"empty before anything", "", "unit name cannot be empty"},
		{"length before dot", strings.Repeat("a", 300), "unit name exceeds maximum length (256)"},
		{"type before template type", "a@.bogus", `invalid unit type: "bogus"`},
		{"type before character", "a b.bogus", `invalid unit type: "bogus"`},
		{"template type before character", "a b@.mount", `invalid unit type for template: "mount"`},
		{"character before leading @", "@a b.service", `invalid character ' ' in unit name`},
		{"type from the last dot", "a.service.bak", `invalid unit type: "bak"`},

		// Names the machine itself runs on, which fleet accepted.
		{"flota's agent", "flotad.service", "unit name is reserved: flota's own agent on every machine"},
		{"flota's agent, any type", "flotad.socket", "unit name is reserved: flota's own agent on every machine"},
		{"systemd's own", "systemd-journald.service", "unit name is reserved: systemd's own units are named systemd-*"},
		{"systemd's own template instance", "systemd-nspawn@web.service", "unit name is reserved: systemd's own units are named systemd-*"},
		{"the bus", "dbus.service", "unit name is reserved: the system bus, which flota reaches systemd over"},
		{"the bus socket", "dbus.socket", "unit name is reserved: the system bus, which flota reaches systemd over"},
		{"special target", "multi-user.target", "unit name is reserved: one of systemd's special units (systemd.special(7))"},
		{"root mount", "-.mount", "unit name is reserved: one of systemd's special units (systemd.special(7))"},
		{"fleet's rules first", "flotad.bogus", `invalid unit type: "bogus"`},
		{"a name like flotad's", "flotad-web.service", ""},
		{"systemd without the dash", "systemdx.service", ""},
		{"a target of one's own", "web.target", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := unit.ValidateName(tt.unit)
			if tt.wantMsg == "" {
				if err != nil {
					t.Fatalf("ValidateName(%q) = %v, want nil", tt.unit, err)
				}
				return
			}
			var e *unit.Error
			if !errors.As(err, &e) {
				t.Fatalf("ValidateName(%q) = %v, want *unit.Error", tt.unit, err)
			}
			if e.Msg != tt.wantMsg {
				t.Errorf("Msg = %q, want %q", e.Msg, tt.wantMsg)
			}
			if !errors.Is(err, unit.ErrInvalidName) || errors.Is(err, unit.ErrInvalidUnit) {
				t.Errorf("Kind = %v, want ErrInvalidName", e.Kind)
			}
			if e.Unit != tt.unit || e.Line != 0 {
				t.Errorf("Unit, Line = %q, %d; want %q, 0", e.Unit, e.Line, tt.unit)
			}
		})
	}
}

func TestNameParts(t *testing.T) {
	tests := []struct {
		name                 string
		template, instance   bool
		templateOf           string
		prefix, inst, suffix string
	}{
		{"web.service", false, false, "", "web", "", "service"},
		{"web@.service", true, false, "", "web", "", "service"},
		{"web@3.service", false, true, "web@.service", "web", "3", "service"},
		{"foo@bar.baz.service", false, true, "foo@.service", "foo", "bar.baz", "service"},
		{"foo.bar@baz.socket", false, true, "foo.bar@.socket", "foo.bar", "baz", "socket"},
		{"foo@a@b.timer", false, true, "foo@.timer", "foo", "a@b", "timer"},
		{"foo@@.service", false, true, "foo@.service", "foo", "@", "service"},
		{"a.b.c.service", false, false, "", "a.b.c", "", "service"},
		// Not valid names, but the helpers must still answer sensibly.
		{"", false, false, "", "", "", ""},
		{"web", false, false, "", "web", "", ""},
		{"web@3", false, false, "", "web@3", "", ""},
		{"x.ser@vice", false, false, "", "x", "", "ser@vice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := unit.IsTemplate(tt.name); got != tt.template {
				t.Errorf("IsTemplate = %v, want %v", got, tt.template)
			}
			if got := unit.IsInstance(tt.name); got != tt.instance {
				t.Errorf("IsInstance = %v, want %v", got, tt.instance)
			}
			tmpl, ok := unit.TemplateOf(tt.name)
			if tmpl != tt.templateOf || ok != (tt.templateOf != "") {
				t.Errorf("TemplateOf = %q, %v; want %q, %v", tmpl, ok, tt.templateOf, tt.templateOf != "")
			}
			if got := unit.Prefix(tt.name); got != tt.prefix {
				t.Errorf("Prefix = %q, want %q", got, tt.prefix)
			}
			if got := unit.InstanceOf(tt.name); got != tt.inst {
				t.Errorf("InstanceOf = %q, want %q", got, tt.inst)
			}
			if got := unit.Suffix(tt.name); got != tt.suffix {
				t.Errorf("Suffix = %q, want %q", got, tt.suffix)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct{ arg, want string }{
		{"web", "web.service"},
		{"web.service", "web.service"},
		{"web@3", "web@3.service"},
		{"web@.service", "web@.service"},
		{"units/web.service", "web.service"},
		{"/etc/flota/web@.service", "web@.service"},
		{"./db", "db.service"},
		{"x.socket", "x.socket"},
		{"x.timer", "x.timer"},
		{"x.path", "x.path"},
		{"x.device", "x.device"},
		{"x.mount", "x.mount"},
		{"x.automount", "x.automount"},
		// fleetctl recognized only the seven types above, and named these
		// x.target.service and so on: such units could not be named.
		{"x.target", "x.target"},
		{"x.slice", "x.slice"},
		{"x.swap", "x.swap"},
		{"x.scope", "x.scope"},
		{"units/x.target", "x.target"},
		{"web.1", "web.1.service"},
		{"x.foo", "x.foo.service"},
		{"trail.", "trail..service"},
		{"x.Service", "x.Service.service"},
		{"dir/", "dir.service"},
	}
	for _, tt := range tests {
		t.Run(tt.arg, func(t *testing.T) {
			if got := unit.Normalize(tt.arg); got != tt.want {
				t.Errorf("Normalize(%q) = %q, want %q", tt.arg, got, tt.want)
			}
		})
	}
}

func TestFileName(t *testing.T) {
	const rule = "a unit file is named NAME.TYPE, with TYPE one of automount busname device mount path scope service slice snapshot socket swap target timer"
	tests := []struct {
		file, want, msg string
	}{
		{"web.service", "web.service", ""},
		{"units/web@.service", "web@.service", ""},
		{"/etc/flota/x.target", "x.target", ""},
		{"./y.slice", "y.slice", ""},
		{"nodot", "", `file nodot is not named after a unit (unit name must contain "."): ` + rule},
		{"dir/trail.", "", `file dir/trail. is not named after a unit (unit name cannot end in "."): ` + rule},
		{"x.foo", "", `file x.foo is not named after a unit (invalid unit type: "foo"): ` + rule},
		{"web.1", "", `file web.1 is not named after a unit (invalid unit type: "1"): ` + rule},
		{"a@b.mount", "", `file a@b.mount is not named after a unit (invalid unit type for template: "mount"): ` + rule},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := unit.FileName(tt.file)
			if tt.msg == "" {
				if err != nil || got != tt.want {
					t.Errorf("FileName = %q, %v, want %q", got, err, tt.want)
				}
				return
			}
			var e *unit.Error
			if !errors.As(err, &e) || !errors.Is(err, unit.ErrInvalidName) || e.Unit != "" || err.Error() != tt.msg {
				t.Errorf("FileName = %q, %v\nwant error %q", got, err, tt.msg)
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		name string
		err  *unit.Error
		want string
	}{
		{"unit and line", &unit.Error{Unit: "nginx@.service", Line: 12, Msg: "Conflicts cannot be used with Replaces"},
			"unit nginx@.service, line 12: Conflicts cannot be used with Replaces"},
		{"unit only", &unit.Error{Unit: "x.service", Msg: "unit file is empty"}, "unit x.service: unit file is empty"},
		{"line only", &unit.Error{Line: 3, Msg: "m"}, "line 3: m"},
		{"message only", &unit.Error{Msg: "unit name cannot be empty"}, "unit name cannot be empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}
