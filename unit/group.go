package unit

import (
	"fmt"
	"path"
	"strconv"
	"strings"
)

// Distinct is one DistinctBy= rule: at most Max units of the unit's group
// on machines that share a value of Key (Nomad's distinct_property,
// Kubernetes' required anti-affinity with a topologyKey). A machine
// without Key takes no unit of the group.
type Distinct struct {
	Key string
	Max int
}

func (d Distinct) String() string {
	if d.Max == 1 {
		return d.Key
	}
	return d.Key + ":" + strconv.Itoa(d.Max)
}

// parseDistinct reads "rack" or "zone:2".
func parseDistinct(v string) (Distinct, error) {
	k, n, hasN := strings.Cut(strings.TrimSpace(v), ":")
	d := Distinct{Key: strings.TrimSpace(k), Max: 1}
	if d.Key == "" || strings.ContainsAny(d.Key, "=!<>*") {
		return Distinct{}, fmt.Errorf("want a metadata key, optionally with :N (rack, zone:2)")
	}
	if hasN {
		m, err := strconv.Atoi(strings.TrimSpace(n))
		if err != nil || m < 1 {
			return Distinct{}, fmt.Errorf("want a count of 1 or more after %q:, not %q", d.Key, n)
		}
		d.Max = m
	}
	return d, nil
}

// GroupOf is the glob naming the units that name's rules (DistinctBy=) count
// together: Group= when given, else the instances of its template
// (web@*.service for web@3.service), else the unit alone.
func (r Requirements) GroupOf(name string) string {
	if r.Group != "" {
		return r.Group
	}
	if IsInstance(name) {
		return escapeGlob(Prefix(name)) + "@*." + escapeGlob(Suffix(name))
	}
	return escapeGlob(name)
}

// InGroup says whether other belongs to the group named by glob.
func InGroup(glob, other string) bool {
	ok, _ := path.Match(glob, other)
	return ok
}

// globEscaper quotes a name's glob characters; it is never changed.
var globEscaper = strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`)

func escapeGlob(s string) string { return globEscaper.Replace(s) }
