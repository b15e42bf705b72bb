package unit

import (
	"slices"
	"strings"
	"testing"
)

func TestSkewAndTargets(t *testing.T) {
	f, err := Parse("web@1.service", []byte("[Service]\nExecStart=/bin/true\n[X-Fleet]\n"+
		"SpreadBy=zone:5\nMaxSkew=zone:1 rack:2:anyway\nMaxSkew=host:3:wait\n"+
		"SpreadTarget=zone=east:70 zone=west:20\nSpreadTarget=zone=west:30%%\n"))
	if err != nil {
		t.Fatal(err)
	}
	r := f.Fleet
	if want := []Skew{{"zone", 1, false}, {"rack", 2, true}, {"host", 3, false}}; !slices.Equal(r.MaxSkew, want) {
		t.Errorf("MaxSkew %v, want %v", r.MaxSkew, want)
	}
	if want := []Target{{"zone", "east", 70}, {"zone", "west", 30}}; !slices.Equal(r.SpreadTargets, want) {
		t.Errorf("SpreadTargets %v, want %v (the last share for a value counts)", r.SpreadTargets, want)
	}
	if !r.HasSoftRules() {
		t.Error("HasSoftRules false")
	}
	if (Requirements{MaxSkew: []Skew{{"zone", 1, false}}}).HasSoftRules() {
		t.Error("a waiting MaxSkew= alone is a filter, not a soft rule")
	}
	for _, tc := range []struct{ fleet, want string }{
		{"MaxSkew=zone", "want KEY:N"},
		{"MaxSkew=zone:0", `skew "0"`},
		{"MaxSkew=zone:1:later", `"later": want wait or anyway`},
		{"MaxSkew=zone=a:1", "want KEY:N"},
		{"SpreadTarget=zone:70", "want KEY=VALUE:PERCENT"},
		{"SpreadTarget=zone=east:170", `share "170"`},
		{"SpreadBy=zone\nSpreadTarget=rack=r1:50", `SpreadTarget for "rack" needs SpreadBy=rack`},
		{"SpreadBy=zone\nSpreadTarget=zone=a:60 zone=b:50", `sum to 110%`},
		{"Global=true\nMaxSkew=zone:1", "Global cannot be used with MaxSkew"},
	} {
		t.Run(tc.fleet, func(t *testing.T) {
			_, err := Parse("a.service", []byte("[Service]\nExecStart=/bin/true\n[X-Fleet]\n"+tc.fleet+"\n"))
			line := "line " + string(rune('4'+strings.Count(tc.fleet, "\n")))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), line) {
				t.Fatalf("%q: err %v, want one naming %s and saying %q", tc.fleet, err, line, tc.want)
			}
		})
	}
}

func TestShare(t *testing.T) {
	r := Requirements{SpreadTargets: []Target{{"zone", "east", 70}, {"zone", "gone", 10}}}
	values := []string{"east", "north", "west"}
	for _, tc := range []struct {
		key, v string
		want   float64
		ok     bool
	}{
		{"zone", "east", 0.7, true},
		{"zone", "west", 0.1, true}, // what is left, 20%, over the two values no target names
		{"zone", "north", 0.1, true},
		{"rack", "r1", 0, false},
	} {
		t.Run(tc.key+"="+tc.v, func(t *testing.T) {
			got, ok := r.Share(tc.key, tc.v, values)
			if ok != tc.ok || got < tc.want-1e-9 || got > tc.want+1e-9 {
				t.Fatalf("Share = %v, %v; want %v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
	full := Requirements{SpreadTargets: []Target{{"zone", "east", 100}}}
	if got, _ := full.Share("zone", "west", values); got != 0 {
		t.Fatalf("a value no target names gets %v of a full share list, want 0", got)
	}
}
