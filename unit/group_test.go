package unit

import (
	"slices"
	"strings"
	"testing"
)

func TestDistinctByAndGroup(t *testing.T) {
	for _, tc := range []struct {
		name, unit, fleet string
		want              []Distinct
		group             string
	}{
		{"one per rack, instances of the template", "web@1.service", "DistinctBy=rack", []Distinct{{"rack", 1}}, "web@*.service"},
		{"two per zone and one per rack", "web@1.service", "DistinctBy=zone:2\nDistinctBy=rack", []Distinct{{"zone", 2}, {"rack", 1}}, "web@*.service"},
		{"the last value for a key counts", "web@1.service", "DistinctBy=zone:2\nDistinctBy=zone:3", []Distinct{{"zone", 3}}, "web@*.service"},
		{"Group= names the group", "svc-a.service", "Group=svc-*\nDistinctBy=rack", []Distinct{{"rack", 1}}, "svc-*"},
		{"a plain unit is a group of its own", "db.service", "DistinctBy=rack", []Distinct{{"rack", 1}}, "db.service"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse(tc.unit, []byte("[Service]\nExecStart=/bin/true\n[X-Fleet]\n"+tc.fleet+"\n"))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(f.Fleet.DistinctBy, tc.want) || f.Fleet.GroupOf(tc.unit) != tc.group {
				t.Fatalf("DistinctBy %v group %q, want %v %q", f.Fleet.DistinctBy, f.Fleet.GroupOf(tc.unit), tc.want, tc.group)
			}
		})
	}
	for _, tc := range []struct{ fleet, want string }{
		{"DistinctBy=", "want a metadata key"},
		{"DistinctBy=rack:0", "want a count of 1 or more"},
		{"DistinctBy=rack:x", "want a count of 1 or more"},
		{"DistinctBy=rack=r1", "want a metadata key"},
		{"Group=[", "invalid Group pattern"},
		{"Global=true\nDistinctBy=rack", "Global cannot be used with DistinctBy"},
	} {
		t.Run(tc.fleet, func(t *testing.T) {
			_, err := Parse("web@1.service", []byte("[Service]\nExecStart=/bin/true\n[X-Fleet]\n"+tc.fleet+"\n"))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "line ") {
				t.Fatalf("%q: err %v, want one with a line saying %q", tc.fleet, err, tc.want)
			}
		})
	}
}
