package unit

import (
	"strings"
	"testing"
)

func TestMetadataExpressions(t *testing.T) {
	ssd := map[string]string{"disk": "ssd", "cpus": "8", "zone": "eu-west-1", "gen": "x"}
	none := map[string]string{}
	for _, tc := range []struct {
		expr      string
		op        MetadataOp
		on, absnt bool // on ssd, on a machine without the key
	}{
		{"disk=ssd", MetaEq, true, false},
		{"disk!=hdd", MetaNe, true, true}, // Nomad: != holds where the key is absent
		{"disk!=ssd", MetaNe, false, true},
		{"cpus>4", MetaGt, true, false},
		{"cpus>8", MetaGt, false, false},
		{"cpus>=8", MetaGe, true, false},
		{"cpus<16", MetaLt, true, false},
		{"cpus<=7.5", MetaLe, false, false},
		{"gen>1", MetaGt, false, false}, // not a number: fails
		{"zone=~^eu-", MetaMatch, true, false},
		{"zone!~^us-", MetaNoMatch, true, true},
		{"zone=~^us-", MetaMatch, false, false},
		{"disk=*", MetaPresent, true, false},
		{"disk!=*", MetaAbsent, false, true},
		{"disk=*x", MetaEq, false, false}, // fleet's value "*x"
	} {
		t.Run(tc.expr, func(t *testing.T) {
			e, err := ParseMetadataExpr(tc.expr)
			if err != nil {
				t.Fatal(err)
			}
			if e.Op != tc.op || e.String() != tc.expr {
				t.Fatalf("parsed %q as op %q, %q", tc.expr, e.Op, e.String())
			}
			if got := e.Matches(ssd); got != tc.on {
				t.Errorf("on %v: %v, want %v", ssd, got, tc.on)
			}
			if got := e.Matches(none); got != tc.absnt {
				t.Errorf("without the key: %v, want %v", got, tc.absnt)
			}
		})
	}
}

func TestMetadataExpressionErrors(t *testing.T) {
	for _, tc := range []struct{ expr, want string }{
		{"zone", "want key=value"},
		{"=dmz", "empty key"},
		{"cpus>four", `> wants a number, not "four"`},
		{"zone=~(", "bad regular expression"},
		{"zone!=", "empty value"},
		{"zone!x", "no operator"},
	} {
		t.Run(tc.expr, func(t *testing.T) {
			_, err := Parse("a.service", []byte("[Service]\nExecStart=/bin/true\n[X-Fleet]\nMachineMetadata="+tc.expr+"\n"))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "line 4") {
				t.Fatalf("MachineMetadata=%s: err %v, want it to name line 4 and say %q", tc.expr, err, tc.want)
			}
		})
	}
}

func TestMetadataExpressionsCombine(t *testing.T) {
	f, err := Parse("a.service", []byte("[Service]\nExecStart=/bin/true\n[X-Fleet]\n"+
		`MachineMetadata="zone=dmz" "zone=lan" "cpus>=4" "disk!=hdd"`+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		md   map[string]string
		want bool
	}{
		{map[string]string{"zone": "lan", "cpus": "4"}, true},
		{map[string]string{"zone": "dmz", "cpus": "8", "disk": "ssd"}, true},
		{map[string]string{"zone": "dmz", "cpus": "2"}, false},
		{map[string]string{"zone": "wan", "cpus": "8"}, false},
		{map[string]string{"zone": "lan", "cpus": "8", "disk": "hdd"}, false},
	} {
		if got := f.Fleet.MatchesMetadata(tc.md); got != tc.want {
			t.Errorf("%v: %v, want %v", tc.md, got, tc.want)
		}
	}
}
