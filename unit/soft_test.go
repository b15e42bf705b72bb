package unit

import (
	"slices"
	"strings"
	"testing"
)

func TestSoftRules(t *testing.T) {
	f, err := Parse("web@1.service", []byte("[Service]\nExecStart=/bin/true\n[X-Fleet]\n"+
		"SoftConflicts=web@* db@*\nSpreadBy=zone:5 rack\nSpreadBy=zone:3\n"+
		`PreferMachineMetadata="disk=ssd:50" "zone=~^eu-:-10" "gpu=*"`+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	r := f.Fleet
	if !slices.Equal(r.SoftConflicts, []string{"web@*", "db@*"}) {
		t.Errorf("SoftConflicts %v", r.SoftConflicts)
	}
	if !slices.Equal(r.SpreadBy, []Spread{{"zone", 3}, {"rack", 1}}) {
		t.Errorf("SpreadBy %v (the last weight for a key counts)", r.SpreadBy)
	}
	var prefs []string
	for _, p := range r.Prefer {
		prefs = append(prefs, p.String())
	}
	if !slices.Equal(prefs, []string{"disk=ssd:50", "zone=~^eu-:-10", "gpu=*:1"}) {
		t.Errorf("Prefer %v", prefs)
	}
	if !r.HasSoftRules() {
		t.Error("HasSoftRules false")
	}
	for _, tc := range []struct{ fleet, want string }{
		{"SoftConflicts=[", "invalid SoftConflicts pattern"},
		{"SpreadBy=zone:0", "weight 0"},
		{"SpreadBy=zone:-2", "a spread weight is positive"},
		{"SpreadBy=zone=a", "want a metadata key"},
		{"PreferMachineMetadata=disk=ssd:500", "weight 500"},
		{"PreferMachineMetadata=disk", "want key=value"},
	} {
		t.Run(tc.fleet, func(t *testing.T) {
			_, err := Parse("a.service", []byte("[Service]\nExecStart=/bin/true\n[X-Fleet]\n"+tc.fleet+"\n"))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "line 4") {
				t.Fatalf("%q: err %v, want one naming line 4 and saying %q", tc.fleet, err, tc.want)
			}
		})
	}
}
