package unit_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/flota-dev/flota/unit"
)

func TestResources(t *testing.T) {
	const (
		K = 1 << 10
		M = 1 << 20
		G = 1 << 30
		T = 1 << 40
	)
	tests := []struct {
		name    string
		service string // [Service] lines after ExecStart=
		extra   string // further sections
		want    unit.Resources
	}{
		{name: "nothing reserves nothing", want: unit.Resources{}},
		{name: "bytes", service: "MemoryMax=4096", want: unit.Resources{MemoryBytes: 4096}},
		{name: "B suffix", service: "MemoryMax=4096B", want: unit.Resources{MemoryBytes: 4096}},
		{name: "K", service: "MemoryMax=3K", want: unit.Resources{MemoryBytes: 3 * K}},
		{name: "M", service: "MemoryMax=512M", want: unit.Resources{MemoryBytes: 512 * M}},
		{name: "G", service: "MemoryMax=2G", want: unit.Resources{MemoryBytes: 2 * G}},
		{name: "T", service: "MemoryMax=1T", want: unit.Resources{MemoryBytes: T}},
		{name: "P and E", service: "MemoryMax=1E 1P", want: unit.Resources{MemoryBytes: 1<<60 + 1<<50}},
		{name: "fraction", service: "MemoryMax=1.5G", want: unit.Resources{MemoryBytes: G + G/2}},
		{name: "fraction without digits", service: "MemoryMax=10.M", want: unit.Resources{MemoryBytes: 10 * M}},
		{name: "blank before the suffix", service: "MemoryMax=2 G", want: unit.Resources{MemoryBytes: 2 * G}},
		{name: "parts, largest first", service: "MemoryMax=1G 512M", want: unit.Resources{MemoryBytes: G + 512*M}},
		{name: "infinity reserves nothing", service: "MemoryMax=infinity", want: unit.Resources{}},
		{name: "a percentage reserves nothing", service: "MemoryMax=50%", want: unit.Resources{}},
		{name: "the last assignment wins", service: "MemoryMax=1G\nMemoryMax=256M", want: unit.Resources{MemoryBytes: 256 * M}},
		{name: "an empty assignment resets", service: "MemoryMax=1G\nMemoryMax=", want: unit.Resources{}},
		{name: "MemoryLimit alone", service: "MemoryLimit=128M", want: unit.Resources{MemoryBytes: 128 * M}},
		{name: "MemoryMax beats MemoryLimit", service: "MemoryMax=64M\nMemoryLimit=128M", want: unit.Resources{MemoryBytes: 64 * M}},
		{name: "MemoryMax=infinity beats MemoryLimit", service: "MemoryLimit=128M\nMemoryMax=infinity", want: unit.Resources{}},
		{name: "CPUQuota percent", service: "CPUQuota=150%", want: unit.Resources{MilliCPUs: 1500}},
		{name: "CPUQuota decimals", service: "CPUQuota=12.5%", want: unit.Resources{MilliCPUs: 125}},
		{name: "CPUQuota rounds up", service: "CPUQuota=0.01%", want: unit.Resources{MilliCPUs: 1}},
		{name: "CPUQuota permille", service: "CPUQuota=250‰", want: unit.Resources{MilliCPUs: 250}},
		{name: "CPUQuota reset", service: "CPUQuota=50%\nCPUQuota=", want: unit.Resources{}},
		{name: "other sections do not count", extra: "[Slice]\nMemoryMax=1G\n[X-Fleet]\nMemoryMax=1G\n", want: unit.Resources{}},
		{name: "DiskQuota reserves disk", service: "MemoryMax=1G\nCPUQuota=50%",
			extra: "[X-Container]\nImage=app:1\nDiskQuota=10G\n", want: unit.Resources{MemoryBytes: G, MilliCPUs: 500, DiskBytes: 10 * G}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := "[Service]\nExecStart=/bin/true\n" + tt.service + "\n" + tt.extra
			f, err := unit.Parse("web@3.service", []byte(text))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if f.Resources != tt.want {
				t.Errorf("Resources = %+v, want %+v", f.Resources, tt.want)
			}
			if tt.want.IsZero() != f.Resources.IsZero() {
				t.Errorf("IsZero = %v", f.Resources.IsZero())
			}
			// An instance made from its template's file reserves the same.
			tmpl, err := unit.Parse("web@.service", []byte(text))
			if err != nil {
				t.Fatalf("Parse template: %v", err)
			}
			inst, err := tmpl.ForName("web@3.service")
			if err != nil {
				t.Fatalf("ForName: %v", err)
			}
			if inst.Resources != tt.want {
				t.Errorf("ForName: Resources = %+v, want %+v", inst.Resources, tt.want)
			}
		})
	}
}

func TestResourcesInvalid(t *testing.T) {
	const sizes = "want bytes with an optional K, M, G, T, P or E suffix (powers of 1024), a percentage, or infinity"
	tests := []struct {
		name    string
		service string // from line 3
		line    int
		msg     string
	}{
		{"words", "MemoryMax=lots", 3, `invalid MemoryMax "lots": ` + sizes},
		{"lower-case suffix", "MemoryMax=1g", 3, `invalid MemoryMax "1g": ` + sizes},
		{"unknown suffix", "MemoryMax=1X", 3, `invalid MemoryMax "1X": ` + sizes},
		{"negative", "MemoryMax=-1G", 3, `invalid MemoryMax "-1G": ` + sizes},
		{"parts out of order", "MemoryMax=512M 1G", 3, `invalid MemoryMax "512M 1G": ` + sizes},
		{"zero", "MemoryMax=0", 3, `invalid MemoryMax "0": out of range`},
		{"overflow", "MemoryMax=16E", 3, `invalid MemoryMax "16E": too large`},
		{"too many digits", "MemoryMax=99999999999999999999", 3, `invalid MemoryMax "99999999999999999999": too large`},
		{"percentage over 100", "MemoryMax=150%", 3, `invalid MemoryMax "150%": a percentage of the machine's memory is above 0% and at most 100%`},
		{"bad percentage", "MemoryMax=1.234%", 3, `invalid MemoryMax "1.234%": want a percentage such as 50% or 12.5%`},
		{"bad MemoryLimit, on its line", "MemoryMax=1G\nMemoryLimit=big", 4, `invalid MemoryLimit "big": ` + sizes},
		{"a bad value overridden is still refused", "MemoryMax=x\nMemoryMax=1G", 3, `invalid MemoryMax "x": ` + sizes},
		{"CPUQuota without %", "CPUQuota=1.5", 3, `invalid CPUQuota "1.5": want a percentage of one CPU, such as 50% or 150%`},
		{"CPUQuota infinity", "CPUQuota=infinity", 3, `invalid CPUQuota "infinity": want a percentage of one CPU, such as 50% or 150%`},
		{"CPUQuota zero", "CPUQuota=0%", 3, `invalid CPUQuota "0%": must be greater than 0%`},
		{"CPUQuota three decimals", "CPUQuota=1.125%", 3, `invalid CPUQuota "1.125%": want a percentage of one CPU, such as 50% or 150%`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := "[Service]\nExecStart=/bin/true\n" + tt.service + "\n"
			_, err := unit.Parse("web.service", []byte(text))
			var e *unit.Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse = %v, want *unit.Error", err)
			}
			if !errors.Is(err, unit.ErrInvalidUnit) {
				t.Errorf("not ErrInvalidUnit: %v", err)
			}
			if e.Msg != tt.msg || e.Line != tt.line || e.Unit != "web.service" {
				t.Errorf("got %q at line %d of %q\nwant %q at line %d", e.Msg, e.Line, e.Unit, tt.msg, tt.line)
			}
			if !strings.HasPrefix(err.Error(), "unit web.service, line ") {
				t.Errorf("error %q does not name the unit and line", err)
			}
		})
	}
}
