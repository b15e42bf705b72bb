package unit

import (
	"fmt"
	"path"
	"strconv"
	"strings"
)

// The soft rules: they rank the machines a unit may go to, and never keep
// it from being placed.

// Spread is one SpreadBy= key: spread the unit's group evenly over the
// values of Key, with Weight against the other soft rules.
type Spread struct {
	Key    string
	Weight int
}

func (s Spread) String() string { return s.Key + ":" + strconv.Itoa(s.Weight) }

// Preference is one PreferMachineMetadata= expression: machines that
// satisfy Expr score Weight (negative: avoided).
type Preference struct {
	Expr   MetadataExpr
	Weight int
}

func (p Preference) String() string { return p.Expr.String() + ":" + strconv.Itoa(p.Weight) }

const maxWeight = 100

// parseWeight splits "x:W" into x and W (def when there is no integer
// after the last ':').
func parseWeight(v string, def int) (string, int, error) {
	i := strings.LastIndex(v, ":")
	if i < 0 {
		return v, def, nil
	}
	w, err := strconv.Atoi(strings.TrimSpace(v[i+1:]))
	if err != nil {
		return v, def, nil // the ':' belongs to the value
	}
	if w == 0 || w < -maxWeight || w > maxWeight {
		return "", 0, fmt.Errorf("weight %d: want -%d..%d, not 0", w, maxWeight, maxWeight)
	}
	return strings.TrimSpace(v[:i]), w, nil
}

func parseSpread(v string) (Spread, error) {
	k, w, err := parseWeight(v, 1)
	if err != nil {
		return Spread{}, err
	}
	if k == "" || strings.ContainsAny(k, "=!<>*:") {
		return Spread{}, fmt.Errorf("want a metadata key, optionally with :WEIGHT (zone:5)")
	}
	if w < 0 {
		return Spread{}, fmt.Errorf("weight %d: a spread weight is positive", w)
	}
	return Spread{Key: k, Weight: w}, nil
}

func parsePreference(v string) (Preference, error) {
	x, w, err := parseWeight(v, 1)
	if err != nil {
		return Preference{}, err
	}
	e, err := ParseMetadataExpr(x)
	if err != nil {
		return Preference{}, err
	}
	return Preference{Expr: e, Weight: w}, nil
}

func checkGlob(v string) error {
	_, err := path.Match(v, "")
	return err
}

// HasSoftRules says whether the unit ranks machines beyond fleet's least
// loaded first.
func (r Requirements) HasSoftRules() bool {
	return len(r.SoftConflicts) > 0 || len(r.SpreadBy) > 0 || len(r.Prefer) > 0 || r.skewsAnyway()
}

// skewsAnyway says whether a MaxSkew= rule ranks machines: one that places
// anyway when it cannot hold (a waiting one filters them).
func (r Requirements) skewsAnyway() bool {
	for _, s := range r.MaxSkew {
		if s.Anyway {
			return true
		}
	}
	return false
}
