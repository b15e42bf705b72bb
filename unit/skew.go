package unit

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Skew is one MaxSkew= rule (Kubernetes' topologySpreadConstraints): a
// unit joins a value of Key only while that leaves the units of its group
// on that value at most Max more than on the emptiest value its
// MachineMetadata= allows. When no machine allows it, the unit waits
// (Kubernetes' DoNotSchedule), or with Anyway is placed where the skew is
// least (ScheduleAnyway).
type Skew struct {
	Key    string
	Max    int
	Anyway bool
}

func (s Skew) String() string {
	out := s.Key + ":" + strconv.Itoa(s.Max)
	if s.Anyway {
		out += ":anyway"
	}
	return out
}

// parseSkew reads "zone:1", "zone:2:wait" or "zone:1:anyway".
func parseSkew(v string) (Skew, error) {
	parts := strings.Split(strings.TrimSpace(v), ":")
	const want = "want KEY:N, optionally :wait or :anyway (zone:1, rack:2:anyway)"
	if len(parts) < 2 || len(parts) > 3 {
		return Skew{}, fmt.Errorf("%s", want)
	}
	s := Skew{Key: strings.TrimSpace(parts[0])}
	if s.Key == "" || strings.ContainsAny(s.Key, "=!<>*") {
		return Skew{}, fmt.Errorf("%s", want)
	}
	n, err := strconv.Atoi(strings.TrimSpace(parts[1]))
	if err != nil || n < 1 || n > maxSkew {
		return Skew{}, fmt.Errorf("skew %q: want 1..%d", parts[1], maxSkew)
	}
	s.Max = n
	if len(parts) == 3 {
		switch strings.TrimSpace(parts[2]) {
		case "wait":
		case "anyway":
			s.Anyway = true
		default:
			return Skew{}, fmt.Errorf("%q: want wait or anyway", parts[2])
		}
	}
	return s, nil
}

const maxSkew = 1000

// Target is one SpreadTarget= share (Nomad's spread targets): of the
// units of the group, Percent should be on machines whose Key is Value.
// The values a key's targets do not name share what is left evenly.
type Target struct {
	Key, Value string
	Percent    int
}

func (t Target) String() string { return t.Key + "=" + t.Value + ":" + strconv.Itoa(t.Percent) }

// parseTarget reads "zone=east:70". A '%' is a specifier in a unit file,
// so one written after the number must be doubled ("70%%"), and is taken.
func parseTarget(v string) (Target, error) {
	const want = "want KEY=VALUE:PERCENT (zone=east:70)"
	kv, pct, ok := cutLast(strings.TrimSpace(v), ":")
	k, val, ok2 := strings.Cut(kv, "=")
	if !ok || !ok2 {
		return Target{}, fmt.Errorf("%s", want)
	}
	t := Target{Key: strings.TrimSpace(k), Value: strings.TrimSpace(val)}
	if t.Key == "" || t.Value == "" || strings.ContainsAny(t.Key, "=!<>*~") {
		return Target{}, fmt.Errorf("%s", want)
	}
	n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(pct), "%"))
	if err != nil || n < 0 || n > 100 {
		return Target{}, fmt.Errorf("share %q: want a percentage, 0..100", pct)
	}
	t.Percent = n
	return t, nil
}

func cutLast(s, sep string) (before, after string, found bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

// Share is the part of the group that SpreadTarget= asks for on the value
// v of key, among values (every value of key the machines have), or ok
// false when key has no targets (an even spread). Values no target names
// share the rest evenly.
func (r Requirements) Share(key, v string, values []string) (share float64, ok bool) {
	named, sum := 0, 0
	for _, t := range r.SpreadTargets {
		if t.Key != key {
			continue
		}
		ok = true
		if t.Value == v {
			return float64(t.Percent) / 100, true
		}
		sum += t.Percent
		for _, x := range values {
			if x == t.Value {
				named++
				break
			}
		}
	}
	if !ok {
		return 0, false
	}
	rest := len(values) - named
	if rest <= 0 || sum >= 100 {
		return 0, true
	}
	return float64(100-sum) / 100 / float64(rest), true
}

// checkTargets refuses SpreadTarget= shares of a key the unit does not
// spread over, and shares of one key that sum past 100%.
func (b *reqBuilder) checkTargets() error {
	sums := map[string]int{}
	for _, t := range b.req.SpreadTargets {
		sums[t.Key] += t.Percent
	}
	for _, k := range slices.Sorted(maps.Keys(sums)) {
		line := b.targetAt[k]
		if !slices.ContainsFunc(b.req.SpreadBy, func(sp Spread) bool { return sp.Key == k }) {
			return unitError(b.name, line, "SpreadTarget for %q needs SpreadBy=%s: shares weigh a spread", k, k)
		}
		if sums[k] > 100 {
			return unitError(b.name, line, "SpreadTarget shares of %q sum to %d%%, more than 100%%", k, sums[k])
		}
	}
	return nil
}
