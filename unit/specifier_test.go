package unit

import "testing"

func TestExpandSpecifiers(t *testing.T) {
	tests := []struct {
		name, unit, in, want, err string
	}{
		{"none", "web@3.service", "plain", "plain", ""},
		{"%n", "web@3.service", "%n", "web@3.service", ""},
		{"%N", "web@3.service", "%N", "web@3", ""},
		{"%p", "foo@bar.baz.service", "%p", "foo", ""},
		{"%i", "foo@bar.baz.service", "%i", "bar.baz", ""},
		{"%i of a template", "foo@.service", "x%iy", "xy", ""},
		{"%i of a plain unit", "foo.service", "x%iy", "xy", ""},
		{"%p of a plain unit", "foo.bar.service", "%p", "foo.bar", ""},
		{"%%", "a.service", "100%%", "100%", ""},
		{"%% then letter", "a.service", "%%n", "%n", ""},
		{"all", "a@b.socket", "%n %N %p %i %%", "a@b.socket a@b a b %", ""},
		{"not re-expanded", "a%i@b.service", "%p", "a%i", ""},
		{"unknown", "a.service", "x%Iy", "", `unknown specifier "%I"`},
		{"unknown multibyte", "a.service", "%é", "", `unknown specifier "%é"`},
		{"unknown invalid UTF-8", "a.service", "%\xff", "", `unknown specifier "%\xff"`},
		{"dangling", "a.service", "x%", "", `incomplete specifier "%" at end of value`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := expandSpecifiers(tt.in, tt.unit)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("expandSpecifiers(%q, %q) = %q, %v; want %q", tt.in, tt.unit, got, err, tt.want)
			}
		})
	}
}
