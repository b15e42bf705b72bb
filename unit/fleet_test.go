package unit_test

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	sdunit "github.com/coreos/go-systemd/v22/unit"

	"github.com/flota-dev/flota/unit"
)

// fleetFile puts body in an [X-Fleet] section starting on line 5.
func fleetFile(body string) []byte {
	return []byte("[Unit]\nDescription=test\n\n[X-Fleet]\n" + body)
}

func TestRequirements(t *testing.T) {
	tests := []struct {
		name     string
		unit     string // default web@3.service
		body     string
		want     unit.Requirements
		warnings []string
	}{
		{name: "none", body: "", want: unit.Requirements{}},
		{name: "MachineID", body: "MachineID=abc123\n", want: unit.Requirements{MachineID: "abc123"}},
		{name: "MachineID repeated with the same value", body: "MachineID=abc\nX-ConditionMachineID=abc\n",
			want:     unit.Requirements{MachineID: "abc"},
			warnings: []string{"X-ConditionMachineID is deprecated, use MachineID"}},
		{name: "empty MachineID is unset", body: "MachineID=\n", want: unit.Requirements{}},
		{name: "MachineOf", body: "MachineOf=db.service\n", want: unit.Requirements{MachineOf: []string{"db.service"}}},
		{name: "MachineOf unquoted is one value", body: "MachineOf=a.service b.service\n",
			want: unit.Requirements{MachineOf: []string{"a.service b.service"}}},
		{name: "MachineOf quoted list", body: `MachineOf="a.service" "b.service"` + "\n",
			want: unit.Requirements{MachineOf: []string{"a.service", "b.service"}}},
		{name: "MachineOf accumulates across keys and aliases", body: "MachineOf=a.service\nX-ConditionMachineOf=b.service\nMachineOf=a.service\n",
			want:     unit.Requirements{MachineOf: []string{"a.service", "b.service"}},
			warnings: []string{"X-ConditionMachineOf is deprecated, use MachineOf"}},
		{name: "MachineMetadata", body: "MachineMetadata=region=us-east\n",
			want: unit.Requirements{MachineMetadata: map[string][]string{"region": {"us-east"}}}},
		{name: "MachineMetadata quoted pairs", body: `MachineMetadata="region=us-east" "zone=a"` + "\n",
			want: unit.Requirements{MachineMetadata: map[string][]string{"region": {"us-east"}, "zone": {"a"}}}},
		{name: "MachineMetadata values of one key accumulate", body: "MachineMetadata=zone=a\nX-ConditionMachineMetadata=zone=b\nMachineMetadata=\"zone=a\" \"disk=ssd\"\n",
			want:     unit.Requirements{MachineMetadata: map[string][]string{"zone": {"a", "b"}, "disk": {"ssd"}}},
			warnings: []string{"X-ConditionMachineMetadata is deprecated, use MachineMetadata"}},
		{name: "MachineMetadata unquoted value keeps spaces and =", body: "MachineMetadata=role = web=1\n",
			want: unit.Requirements{MachineMetadata: map[string][]string{"role": {"web=1"}}}},
		{name: "quoted value with spaces inside quotes", body: `MachineMetadata="name=big box" "x=y"` + "\n",
			want: unit.Requirements{MachineMetadata: map[string][]string{"name": {"big box"}, "x": {"y"}}}},
		{name: "extra blanks and empty quotes are dropped", body: "MachineOf=\"a.service\"   \"\"\t\"b.service\"\n",
			want: unit.Requirements{MachineOf: []string{"a.service", "b.service"}}},
		{name: "Conflicts", body: "Conflicts=web@*.service\n", want: unit.Requirements{Conflicts: []string{"web@*.service"}}},
		{name: "Conflicts unquoted splits on whitespace", body: "Conflicts=a.service  b*.service\tc?.service\n",
			want: unit.Requirements{Conflicts: []string{"a.service", "b*.service", "c?.service"}}},
		{name: "Conflicts quoted", body: `Conflicts="a*" "b*"` + "\n", want: unit.Requirements{Conflicts: []string{"a*", "b*"}}},
		{name: "X-Conflicts alias accumulates", body: "X-Conflicts=a*\nConflicts=b*\nConflicts=a*\n",
			want:     unit.Requirements{Conflicts: []string{"a*", "b*"}},
			warnings: []string{"X-Conflicts is deprecated, use Conflicts"}},
		{name: "empty Conflicts", body: "Conflicts=\n", want: unit.Requirements{}},
		{name: "Global true", body: "Global=true\n", want: unit.Requirements{Global: true}},
		{name: "Global yes any case", body: "Global=YeS\n", want: unit.Requirements{Global: true}},
		{name: "Global 1", body: "Global=1\n", want: unit.Requirements{Global: true}},
		{name: "Global on", body: "Global=on\n", want: unit.Requirements{Global: true}},
		{name: "Global t", body: "Global=T\n", want: unit.Requirements{Global: true}},
		{name: "Global false", body: "Global=false\n", want: unit.Requirements{}},
		{name: "Global last wins (false)", body: "Global=true\nGlobal=off\n", want: unit.Requirements{}},
		{name: "Global last wins (true)", body: "Global=no\nGlobal=1\n", want: unit.Requirements{Global: true}},
		{name: "Global with metadata and conflicts", body: "Global=true\nMachineMetadata=role=edge\nConflicts=lb*\n",
			want: unit.Requirements{Global: true, MachineMetadata: map[string][]string{"role": {"edge"}}, Conflicts: []string{"lb*"}}},
		{name: "Global false allows MachineID", body: "Global=false\nMachineID=abc\n", want: unit.Requirements{MachineID: "abc"}},
		{name: "Replaces", body: "Replaces=old.service\n", want: unit.Requirements{Replaces: []string{"old.service"}}},
		{name: "Replaces splits on whitespace", body: "Replaces=old.service older*.service\n",
			want: unit.Requirements{Replaces: []string{"old.service", "older*.service"}}},
		{name: "MachineOf with Replaces", body: "MachineOf=db.service\nReplaces=old.service\n",
			want: unit.Requirements{MachineOf: []string{"db.service"}, Replaces: []string{"old.service"}}},
		{name: "peer not matching conflict", body: "MachineOf=db.service\nConflicts=web@*.service\n",
			want: unit.Requirements{MachineOf: []string{"db.service"}, Conflicts: []string{"web@*.service"}}},
		{name: "continuation reads as a space", body: "Conflicts=a.service \\\n  b.service\n",
			want: unit.Requirements{Conflicts: []string{"a.service", "b.service"}}},
		{name: "quoted list over a continuation", body: "MachineMetadata=\"a=1\" \\\n \"b=2\"\n",
			want: unit.Requirements{MachineMetadata: map[string][]string{"a": {"1"}, "b": {"2"}}}},
		{name: "unknown keys warn once each", body: "Foo=1\nFoo=2\nMachineBootID=x\n",
			want:     unit.Requirements{},
			warnings: []string{`unrecognized requirement in [X-Fleet] section: "Foo"`, `unrecognized requirement in [X-Fleet] section: "MachineBootID"`}},
		{name: "keys are case sensitive", body: "machineid=abc\n", want: unit.Requirements{},
			warnings: []string{`unrecognized requirement in [X-Fleet] section: "machineid"`}},
		{name: "unknown keys are not expanded", body: "Foo=%z\n", want: unit.Requirements{},
			warnings: []string{`unrecognized requirement in [X-Fleet] section: "Foo"`}},
		{name: "deprecated MachineID", body: "X-ConditionMachineID=abc\n", want: unit.Requirements{MachineID: "abc"},
			warnings: []string{"X-ConditionMachineID is deprecated, use MachineID"}},
		{name: "X-Fleet section name is case sensitive", body: "[x-fleet]\nMachineID=abc\n", want: unit.Requirements{}},
		{name: "repeated X-Fleet sections accumulate", body: "MachineOf=a.service\n[Service]\nExecStart=/bin/true\n[X-Fleet]\nMachineOf=b.service\n",
			want: unit.Requirements{MachineOf: []string{"a.service", "b.service"}}},

		// Specifiers, for web@3.service unless said otherwise.
		{name: "%n", body: "Conflicts=%n\n", want: unit.Requirements{Conflicts: []string{"web@3.service"}}},
		{name: "%N", body: "MachineOf=%N.socket\n", want: unit.Requirements{MachineOf: []string{"web@3.socket"}}},
		{name: "%p and %i", body: "MachineOf=%p-sidekick@%i.service\n", want: unit.Requirements{MachineOf: []string{"web-sidekick@3.service"}}},
		{name: "%i with dots", unit: "foo@bar.baz.service", body: "MachineOf=db@%i.service\n",
			want: unit.Requirements{MachineOf: []string{"db@bar.baz.service"}}},
		{name: "%%", body: "MachineMetadata=pct=100%%\n", want: unit.Requirements{MachineMetadata: map[string][]string{"pct": {"100%"}}}},
		{name: "%%i is a literal %i", body: "MachineMetadata=k=%%i\n", want: unit.Requirements{MachineMetadata: map[string][]string{"k": {"%i"}}}},
		{name: "specifiers in MachineID and metadata", unit: "node@m1.service", body: "MachineID=%i\n",
			want: unit.Requirements{MachineID: "m1"}},
		// A template has no instance: what uses %i is its instances' business.
		{name: "template: values with %i are left to the instances", unit: "web@.service", body: "MachineOf=db@%i.service\nConflicts=%p@*.service\n",
			want: unit.Requirements{Conflicts: []string{"web@*.service"}}},
		{name: "template: MachineID from %i is unset", unit: "node@.service", body: "MachineID=%i\n", want: unit.Requirements{}},
		{name: "template: metadata from %i (fleet's metadata@.service)", unit: "metadata@.service", body: "MachineMetadata=hostname=%i\n", want: unit.Requirements{}},
		{name: "template: %%i is no instance", unit: "web@.service", body: "MachineMetadata=k=%%i\n",
			want: unit.Requirements{MachineMetadata: map[string][]string{"k": {"%i"}}}},
		{name: "instance: metadata from %i", unit: "metadata@smoke1.service", body: "MachineMetadata=hostname=%i\n",
			want: unit.Requirements{MachineMetadata: map[string][]string{"hostname": {"smoke1"}}}},
		{name: "specifiers after quote splitting", body: `Conflicts="%p@*.service" "x-%i.service"` + "\n",
			want: unit.Requirements{Conflicts: []string{"web@*.service", "x-3.service"}}},
		{name: "non-instance %i is empty", unit: "web.service", body: "MachineMetadata=k=v%i\n",
			want: unit.Requirements{MachineMetadata: map[string][]string{"k": {"v"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := tt.unit
			if name == "" {
				name = "web@3.service"
			}
			f, err := unit.Parse(name, fleetFile(tt.body))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(f.Fleet, tt.want) {
				t.Errorf("Fleet = %#v\nwant    %#v", f.Fleet, tt.want)
			}
			if !reflect.DeepEqual(f.Warnings, tt.warnings) {
				t.Errorf("Warnings = %q, want %q", f.Warnings, tt.warnings)
			}
			// ParseOptions on the same options says the same.
			req, warnings, err := unit.ParseOptions(name, f.Options)
			if err != nil || !reflect.DeepEqual(req, tt.want) || !reflect.DeepEqual(warnings, tt.warnings) {
				t.Errorf("ParseOptions = %#v, %q, %v", req, warnings, err)
			}
		})
	}
}

func TestRequirementsErrors(t *testing.T) {
	tests := []struct {
		name string
		unit string // default web@3.service
		body string // line 5 is the body's first line
		line int
		msg  string
	}{
		{"MachineID with Peers", "", "MachineID=abc\nMachineOf=db.service\n", 6, "MachineID cannot be used with Peers"},
		{"MachineID with Conflicts", "", "Conflicts=x*\nMachineID=abc\n", 5, "MachineID cannot be used with Conflicts"},
		{"MachineID with Global", "", "MachineID=abc\nGlobal=false\nGlobal=true\n", 7, "MachineID cannot be used with Global"},
		{"MachineID with Replaces", "", "MachineID=abc\n\n# a comment\nReplaces=old.service\n", 8, "MachineID cannot be used with Replaces"},
		{"MachineID names Peers first", "", "MachineID=abc\nReplaces=old.service\nGlobal=1\nConflicts=x\nMachineOf=db.service\n", 9, "MachineID cannot be used with Peers"},
		{"MachineID names Conflicts before Global", "", "MachineID=abc\nGlobal=1\nConflicts=x\n", 7, "MachineID cannot be used with Conflicts"},
		{"MachineID names Global before Replaces", "", "MachineID=abc\nReplaces=old.service\nGlobal=1\n", 7, "MachineID cannot be used with Global"},
		{"deprecated MachineID with Conflicts", "", "X-ConditionMachineID=abc\nX-Conflicts=x\n", 6, "MachineID cannot be used with Conflicts"},
		{"Global with Peers", "", "Global=true\nMachineOf=db.service\n", 6, "Global cannot be used with Peers"},
		{"Global with Replaces", "", "Replaces=old.service\nGlobal=yes\n", 5, "Global cannot be used with Replaces"},
		{"Conflicts with Replaces", "", "Conflicts=a*\nReplaces=old.service\n", 6, "Conflicts cannot be used with Replaces"},
		{"peer matches conflict", "", "MachineOf=db.service\nConflicts=web*.service db*.service\n", 6,
			`unresolvable requirements: peer "db.service" matches conflict "db*.service"`},
		{"peer matches conflict after expansion", "", "MachineOf=%p-log@%i.service\nConflicts=x.service\nConflicts=web-log@*.service\n", 7,
			`unresolvable requirements: peer "web-log@3.service" matches conflict "web-log@*.service"`},
		{"replaces itself", "", "Replaces=web@*.service\n", 5, "unit cannot replace itself"},
		{"replaces itself by %n", "", "Replaces=other.service %n\n", 5, "unit cannot replace itself"},
		{"template replaces itself", "web@.service", "Replaces=%p@*.service\n", 5, "unit cannot replace itself"},
		{"template: bad specifier", "web@.service", "MachineMetadata=rack=%I\n", 5, `unknown specifier "%I" in MachineMetadata value "rack=%I"`},
		{"template: %%i is checked", "web@.service", "MachineMetadata=%%i\n", 5, `invalid MachineMetadata "%i" (from "%%i"): want key=value`},
		{"template: value without %i is checked", "web@.service", "MachineMetadata=rack=%i\nMachineMetadata=zone\n", 6, `invalid MachineMetadata "zone": want key=value`},
		{"instance: metadata from %i", "web@1.service", "MachineMetadata=rack%i\n", 5, `invalid MachineMetadata "rack1" (from "rack%i"): want key=value`},
		{"instance: Global from %i", "web@x.service", "Global=%i\n", 5, `invalid Global value "x" (from "%i"): want true or false`},
		{"instance: MachineID from %i with Conflicts", "node@m1.service", "MachineID=%i\nConflicts=x\n", 6, "MachineID cannot be used with Conflicts"},
		{"bad Conflicts pattern", "", "Conflicts=ok.service [bad\n", 5, `invalid Conflicts pattern "[bad": syntax error in pattern`},
		{"bad Replaces pattern", "", "\nReplaces=a[\n", 6, `invalid Replaces pattern "a[": syntax error in pattern`},
		{"bad Global", "", "Global=maybe\n", 5, `invalid Global value "maybe": want true or false`},
		{"empty Global", "", "Global=true\nGlobal=\n", 6, `invalid Global value "": want true or false`},
		{"metadata without =", "", "MachineMetadata=region\n", 5, `invalid MachineMetadata "region": want key=value`},
		{"metadata empty key", "", `MachineMetadata="a=b" "=c"` + "\n", 5, `invalid MachineMetadata "=c": empty key`},
		{"metadata empty value", "", "X-ConditionMachineMetadata=region=\n", 5, `invalid X-ConditionMachineMetadata "region=": empty value`},
		{"two MachineIDs", "", "MachineID=a\nMachineID=b\n", 6, `MachineID "b" conflicts with MachineID "a" given before`},
		{"unknown specifier", "", "MachineOf=db@%I.service\n", 5, `unknown specifier "%I" in MachineOf value "db@%I.service"`},
		{"incomplete specifier", "", "MachineMetadata=k=v%\n", 5, `incomplete specifier "%" at end of value in MachineMetadata value "k=v%"`},
		{"line after a continued value", "", "Conflicts=a \\\n b\n# c \\\n  still comment\nMachineID=x\n", 5, "MachineID cannot be used with Conflicts"},
		{"line after a continued value and blank line", "", "MachineMetadata=a=b \\\n  c\n\nGlobal=maybe\n", 8, `invalid Global value "maybe": want true or false`},
		{"commented keys do not count", "", "# Global=maybe\n; MachineMetadata=x\n  Global = nope \n", 7, `invalid Global value "nope": want true or false`},
		{"line in a second X-Fleet section", "", "Global=1\n[Service]\nExecStart=/bin/true\n[X-Fleet]\nMachineOf=db.service\n", 9, "Global cannot be used with Peers"},
		{"line after continued lines", "", "MachineMetadata=a=b \\\n  c\nMachineOf=x\n\nGlobal=1\n", 7, "Global cannot be used with Peers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := tt.unit
			if name == "" {
				name = "web@3.service"
			}
			_, err := unit.Parse(name, fleetFile(tt.body))
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
			f := mustOptions(t, fleetFile(tt.body))
			_, _, err = unit.ParseOptions(name, f)
			if !errors.As(err, &e) || e.Msg != tt.msg || e.Line != 0 {
				t.Errorf("ParseOptions = %v, want %q without line", err, tt.msg)
			}
		})
	}
}

func mustOptions(t *testing.T, data []byte) []*sdunit.UnitOption {
	t.Helper()
	opts, err := sdunit.DeserializeOptions(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return opts
}

// TestTemplateInstances checks that a template whose [X-Fleet] values use
// %i is accepted, and that each instance is checked under its own name,
// from the text (Parse, what flotactl does when it creates the instance)
// and from the options alone (ParseOptions, what the Engine does with the
// options the registry copied from the template).
func TestTemplateInstances(t *testing.T) {
	const body = "MachineMetadata=rack=%i\nMachineMetadata=\"zone=z%i\" \"disk=ssd\"\nGlobal=%i\n"
	tmpl, err := unit.Parse("web@.service", fleetFile(body))
	if err != nil {
		t.Fatalf("template refused: %v", err)
	}
	if want := (unit.Requirements{MachineMetadata: map[string][]string{"disk": {"ssd"}}}); !reflect.DeepEqual(tmpl.Fleet, want) {
		t.Errorf("template Fleet = %#v, want %#v", tmpl.Fleet, want)
	}
	tests := []struct {
		name, instance string
		want           unit.Requirements
		line           int
		msg            string
	}{
		{"good instance", "web@1.service", unit.Requirements{Global: true,
			MachineMetadata: map[string][]string{"rack": {"1"}, "zone": {"z1"}, "disk": {"ssd"}}}, 0, ""},
		{"another", "web@off.service", unit.Requirements{
			MachineMetadata: map[string][]string{"rack": {"off"}, "zone": {"zoff"}, "disk": {"ssd"}}}, 0, ""},
		{"instance its Global refuses", "web@r2.service", unit.Requirements{}, 7, `invalid Global value "r2" (from "%i"): want true or false`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := unit.Parse(tt.instance, tmpl.Bytes())
			req, _, optErr := unit.ParseOptions(tt.instance, tmpl.Options)
			if tt.msg == "" {
				if err != nil || optErr != nil {
					t.Fatalf("Parse: %v; ParseOptions: %v", err, optErr)
				}
				if !reflect.DeepEqual(f.Fleet, tt.want) || !reflect.DeepEqual(req, tt.want) {
					t.Errorf("Parse: %#v\nParseOptions: %#v\nwant %#v", f.Fleet, req, tt.want)
				}
				return
			}
			var e *unit.Error
			if !errors.As(err, &e) || e.Unit != tt.instance || e.Line != tt.line || e.Msg != tt.msg || !errors.Is(err, unit.ErrInvalidUnit) {
				t.Errorf("Parse = %v, want unit %s line %d: %s", err, tt.instance, tt.line, tt.msg)
			}
			if !errors.As(optErr, &e) || e.Unit != tt.instance || e.Msg != tt.msg {
				t.Errorf("ParseOptions = %v, want unit %s: %s", optErr, tt.instance, tt.msg)
			}
		})
	}
}

func TestParseOptions(t *testing.T) {
	opts := []*sdunit.UnitOption{
		nil, // never panic on a nil option
		sdunit.NewUnitOption("Unit", "Description", "x"),
		sdunit.NewUnitOption("X-Fleet", "MachineOf", "db@%i.service"),
		sdunit.NewUnitOption("X-Fleet", "Conflicts", "%p@*.service"),
	}
	t.Run("resolves for each instance", func(t *testing.T) {
		for _, inst := range []string{"1", "2"} {
			req, warnings, err := unit.ParseOptions("web@"+inst+".service", opts)
			want := unit.Requirements{MachineOf: []string{"db@" + inst + ".service"}, Conflicts: []string{"web@*.service"}}
			if err != nil || warnings != nil || !reflect.DeepEqual(req, want) {
				t.Errorf("ParseOptions(web@%s) = %#v, %q, %v", inst, req, warnings, err)
			}
		}
	})
	t.Run("checks the name", func(t *testing.T) {
		_, _, err := unit.ParseOptions("web", opts)
		if !errors.Is(err, unit.ErrInvalidName) {
			t.Errorf("err = %v, want ErrInvalidName", err)
		}
	})
	t.Run("nil options", func(t *testing.T) {
		req, warnings, err := unit.ParseOptions("web.service", nil)
		if err != nil || warnings != nil || !reflect.DeepEqual(req, unit.Requirements{}) {
			t.Errorf("ParseOptions(nil) = %#v, %q, %v", req, warnings, err)
		}
	})
}

func TestMatchesMetadata(t *testing.T) {
	req := unit.Requirements{MachineMetadata: map[string][]string{"region": {"us-east", "us-west"}, "disk": {"ssd"}}}
	tests := []struct {
		name string
		req  unit.Requirements
		md   map[string]string
		want bool
	}{
		{"no requirement, no metadata", unit.Requirements{}, nil, true},
		{"no requirement", unit.Requirements{}, map[string]string{"a": "b"}, true},
		{"all keys, first value", req, map[string]string{"region": "us-east", "disk": "ssd"}, true},
		{"all keys, other value", req, map[string]string{"region": "us-west", "disk": "ssd", "extra": "x"}, true},
		{"value not allowed", req, map[string]string{"region": "eu", "disk": "ssd"}, false},
		{"key missing", req, map[string]string{"region": "us-east"}, false},
		{"no metadata", req, nil, false},
		{"values are case sensitive", req, map[string]string{"region": "US-EAST", "disk": "ssd"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.req.MatchesMetadata(tt.md); got != tt.want {
				t.Errorf("MatchesMetadata(%v) = %v, want %v", tt.md, got, tt.want)
			}
		})
	}
}

func TestConflictsWithAndReplacesUnit(t *testing.T) {
	req := unit.Requirements{Conflicts: []string{"web@*.service", "db.service"}, Replaces: []string{"old-?.service"}}
	tests := []struct {
		other               string
		conflicts, replaces bool
	}{
		{"web@1.service", true, false},
		{"web@.service", true, false},
		{"db.service", true, false},
		{"db.socket", false, false},
		{"old-1.service", false, true},
		{"old-12.service", false, false},
		{"other.service", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.other, func(t *testing.T) {
			if got := req.ConflictsWith(tt.other); got != tt.conflicts {
				t.Errorf("ConflictsWith = %v, want %v", got, tt.conflicts)
			}
			if got := req.ReplacesUnit(tt.other); got != tt.replaces {
				t.Errorf("ReplacesUnit = %v, want %v", got, tt.replaces)
			}
		})
	}
	t.Run("none", func(t *testing.T) {
		var r unit.Requirements
		if r.ConflictsWith("a.service") || r.ReplacesUnit("a.service") {
			t.Error("empty Requirements matched")
		}
	})
}
