package unit

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	sdunit "github.com/coreos/go-systemd/v22/unit"
)

// Resources is what a unit reserves on the machine that runs it, read from
// the options systemd enforces anyway, so a unit asks for what it is
// limited to:
//
//   - memory: [Service] MemoryMax=, or the older MemoryLimit= when
//     MemoryMax= is not set; sizes as systemd reads them (bytes with an
//     optional B, K, M, G, T, P or E suffix, powers of 1024, fractions and
//     parts allowed: "1.5G", "1G 512M"). "infinity" and a percentage (which
//     scales with whichever machine runs the unit) reserve nothing;
//   - CPU: [Service] CPUQuota=, a percentage of one CPU: "150%" is 1.5 CPUs;
//   - disk: [X-Container] DiskQuota= (see Container).
//
// As in systemd, the last assignment of an option is the one in force and
// an empty one resets it. A unit with none of these reserves nothing and is
// placed as fleet placed it. Every assignment must be valid, or the unit is
// refused: systemd would ignore a bad one, and the unit would run unlimited
// where the cluster thought it limited.
type Resources struct {
	MemoryBytes uint64 // 0: reserves no memory
	MilliCPUs   uint64 // thousandths of a CPU, rounded up; 0: reserves no CPU
	DiskBytes   uint64 // 0: reserves no disk
}

// IsZero says the unit reserves nothing.
func (r Resources) IsZero() bool { return r == Resources{} }

// parseResources reads the unit's reservations from opts; c is its
// [X-Container] section, already checked (nil when it has none).
func parseResources(name string, opts []*sdunit.UnitOption, lines []int, c *Container) (Resources, error) {
	var r Resources
	var memMax, memLimit uint64
	for i, o := range opts {
		if o == nil || o.Section != serviceSection {
			continue
		}
		v := strings.TrimSpace(strings.ReplaceAll(o.Value, "\\\n", " "))
		switch o.Name {
		case "MemoryMax", "MemoryLimit":
			n, err := parseMemory(v)
			if err != nil {
				return Resources{}, unitError(name, lineAt(lines, i), "invalid %s %q: %v", o.Name, v, err)
			}
			if o.Name == "MemoryMax" {
				memMax = n
			} else {
				memLimit = n
			}
		case "CPUQuota":
			n, err := parseCPUQuota(v)
			if err != nil {
				return Resources{}, unitError(name, lineAt(lines, i), "invalid %s %q: %v", o.Name, v, err)
			}
			r.MilliCPUs = n
		}
	}
	r.MemoryBytes = memMax
	if memMax == noLimitSet {
		r.MemoryBytes = memLimit
	}
	if r.MemoryBytes == noLimitSet || r.MemoryBytes == unlimited {
		r.MemoryBytes = 0
	}
	if c != nil {
		r.DiskBytes = c.DiskQuota
	}
	return r, nil
}

// The two memory values that reserve nothing: no assignment in force, and
// one that is set but does not limit (infinity, a percentage). MemoryMax=
// set to either of the latter still overrides MemoryLimit=, as in systemd.
const (
	noLimitSet uint64 = 0
	unlimited  uint64 = math.MaxUint64
)

// parseMemory reads a MemoryMax= or MemoryLimit= value as systemd's
// config_parse_memory_limit does.
func parseMemory(v string) (uint64, error) {
	switch {
	case v == "":
		return noLimitSet, nil
	case v == "infinity":
		return unlimited, nil
	case strings.HasSuffix(v, "%") || strings.HasSuffix(v, "‰") || strings.HasSuffix(v, "‱"):
		p, err := parsePermyriad(v)
		if err != nil {
			return 0, err
		}
		if p == 0 || p > 10000 {
			return 0, fmt.Errorf("a percentage of the machine's memory is above 0%% and at most 100%%")
		}
		return unlimited, nil
	}
	n, err := parseSystemdSize(v)
	if err != nil {
		return 0, err
	}
	if n == 0 || n == math.MaxUint64 {
		return 0, fmt.Errorf("out of range")
	}
	return n, nil
}

// parseCPUQuota reads a CPUQuota= value as systemd does, in thousandths
// of a CPU rounded up: "150%" is 1500, "0.01%" is 1.
func parseCPUQuota(v string) (uint64, error) {
	if v == "" {
		return 0, nil
	}
	p, err := parsePermyriad(v)
	if err != nil {
		return 0, fmt.Errorf("want a percentage of one CPU, such as 50%% or 150%%")
	}
	if p == 0 {
		return 0, fmt.Errorf("must be greater than 0%%")
	}
	return p/10 + min(p%10, 1), nil
}

// parsePermyriad reads systemd's unbounded percentages in ten-thousandths:
// "N%" with up to two decimals, "N‰" with up to one, "N‱".
func parsePermyriad(v string) (uint64, error) {
	bad := fmt.Errorf("want a percentage such as 50%% or 12.5%%")
	var digits string
	var decimals int
	var scale uint64
	switch {
	case strings.HasSuffix(v, "%"):
		digits, decimals, scale = strings.TrimSuffix(v, "%"), 2, 100
	case strings.HasSuffix(v, "‰"):
		digits, decimals, scale = strings.TrimSuffix(v, "‰"), 1, 10
	case strings.HasSuffix(v, "‱"):
		digits, decimals, scale = strings.TrimSuffix(v, "‱"), 0, 1
	default:
		return 0, bad
	}
	whole, frac, dot := strings.Cut(digits, ".")
	if whole == "" || !allDigits(whole) || (dot && (frac == "" || len(frac) > decimals || !allDigits(frac))) {
		return 0, bad
	}
	n, err := strconv.ParseUint(whole, 10, 64)
	if err != nil || n > math.MaxUint64/scale/100 {
		return 0, fmt.Errorf("too large")
	}
	p := n * scale
	for i, unit := 0, scale/10; i < len(frac); i, unit = i+1, unit/10 {
		p += uint64(frac[i]-'0') * unit
	}
	return p, nil
}

// sizeSuffixes are systemd's base-1024 size suffixes, largest first; ""
// (bytes) matches anything and so comes last.
var sizeSuffixes = []struct {
	suffix string
	factor uint64
}{
	{"E", 1 << 60}, {"P", 1 << 50}, {"T", 1 << 40}, {"G", 1 << 30},
	{"M", 1 << 20}, {"K", 1 << 10}, {"B", 1}, {"", 1},
}

// parseSystemdSize is systemd's parse_size with base 1024: one or more
// parts, each a number with an optional fraction and an optional suffix,
// suffixes in decreasing order ("1G 512M", "1.5G", "10.M", "4096").
func parseSystemdSize(s string) (uint64, error) {
	bad := fmt.Errorf("want bytes with an optional K, M, G, T, P or E suffix (powers of 1024), a percentage, or infinity")
	var total uint64
	next := 0 // the first suffix the next part may use
	p := s
	for {
		p = strings.TrimLeft(p, " \t\n\r")
		n := 0
		for n < len(p) && p[n] >= '0' && p[n] <= '9' {
			n++
		}
		if n == 0 {
			return 0, bad
		}
		l, err := strconv.ParseUint(p[:n], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("too large")
		}
		p = p[n:]
		frac := 0.0
		if strings.HasPrefix(p, ".") {
			p = p[1:]
			f := 0
			for f < len(p) && p[f] >= '0' && p[f] <= '9' {
				f++
			}
			if f > 0 {
				// Like systemd, the fraction is read as a double: "1.5G" is exact,
				// and a fraction of a byte is dropped.
				frac, _ = strconv.ParseFloat("0."+p[:f], 64)
				p = p[f:]
			}
		}
		p = strings.TrimLeft(p, " \t\n\r")
		i := next
		for ; i < len(sizeSuffixes); i++ {
			if strings.HasPrefix(p, sizeSuffixes[i].suffix) {
				break
			}
		}
		if i == len(sizeSuffixes) {
			return 0, bad
		}
		factor := sizeSuffixes[i].factor
		up := l
		if frac > 0 {
			up++
		}
		if up > math.MaxUint64/factor {
			return 0, fmt.Errorf("too large")
		}
		part := l*factor + uint64(frac*float64(factor))
		if part > math.MaxUint64-total {
			return 0, fmt.Errorf("too large")
		}
		total += part
		p = p[len(sizeSuffixes[i].suffix):]
		next = i + 1
		if p == "" {
			return total, nil
		}
	}
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
