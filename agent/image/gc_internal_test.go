package image

import (
	"slices"
	"testing"
)

// GC's decision needs no filesystem.
func TestUnused(t *testing.T) {
	const base, site, app, app2, other LayerID = "base", "site", "app", "app2", "other"
	layers := []Manifest{{ID: app2, Parent: site}, {ID: base}, {ID: site, Parent: base}, {ID: app, Parent: site}, {ID: other}}
	for _, c := range []struct {
		name  string
		roots []LayerID
		want  []LayerID
	}{
		{"nothing used: children before parents", nil, []LayerID{app, app2, site, base, other}},
		{"a top layer keeps its chain", []LayerID{app}, []LayerID{app2, other}},
		{"a middle layer keeps only what is under it", []LayerID{site}, []LayerID{app, app2, other}},
		{"everything used", []LayerID{app, app2, other}, nil},
		{"a root that is not a layer changes nothing", []LayerID{"gone"}, []LayerID{app, app2, site, base, other}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := unused(layers, c.roots); !slices.Equal(got, c.want) {
				t.Fatalf("unused = %v, want %v", got, c.want)
			}
		})
	}
}

func TestCheckName(t *testing.T) {
	for _, c := range []struct {
		name string
		ok   bool
	}{
		{"app-web:3", true}, {"web@3.service", true}, {"a_b+c", true},
		{"", false}, {".", false}, {"..", false}, {".hidden", false}, {"-flag", false},
		{"a/b", false}, {"a b", false}, {"é", false}, {string(make([]byte, 201)), false},
	} {
		if err := checkName("tag", c.name); (err == nil) != c.ok {
			t.Errorf("checkName(%q) = %v, want ok=%v", c.name, err, c.ok)
		}
	}
}
