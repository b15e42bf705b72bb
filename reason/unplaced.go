package reason

import (
	"cmp"
	"encoding/json"
	"slices"
	"strings"
)

// Unplaced is why the Engine could not place a Unit: the record it stores
// under the unit's name. The zero Unplaced is "placed" (no record).
type Unplaced struct {
	Code    Code     `json:"code"`
	Args    []string `json:"args,omitempty"`
	Filters []Filter `json:"filters,omitempty"`
}

// Filter is one rule and how many machines it filtered: each machine is
// counted under the first rule that refused it.
type Filter struct {
	Code     Code     `json:"code"`
	Args     []string `json:"args,omitempty"`
	Machines int      `json:"machines,omitempty"` // 0 when stored (Uncounted)
}

// Refusal is a rule's refusal of one machine, before counting; the zero
// Refusal accepts it.
type Refusal struct {
	Code Code
	Args []string
}

// Accepted says the rule did not refuse the machine.
func (r Refusal) Accepted() bool { return r.Code == "" }

// Refuse makes a Refusal.
func Refuse(c Code, args ...string) Refusal { return Refusal{Code: c, Args: args} }

// IsZero says there is no reason: the unit is placed.
func (u Unplaced) IsZero() bool { return u.Code == "" }

// Equal says whether two records mean the same: the same codes and
// arguments, the same rules filtering, whatever the machines each filtered.
// How many a rule filtered follows the cluster's size, and a machine that
// joins or leaves does not change why a unit cannot be placed: the Engine
// rewrites a stored record only when Equal says its meaning changed.
func (u Unplaced) Equal(o Unplaced) bool {
	a, b := u.Uncounted(), o.Uncounted()
	return a.Code == b.Code && slices.Equal(a.Args, b.Args) &&
		slices.EqualFunc(a.Filters, b.Filters, func(x, y Filter) bool {
			return x.Code == y.Code && slices.Equal(x.Args, y.Args)
		})
}

// Uncounted is u as it is stored: its filters without their counts, in the
// order of their codes and arguments. A reader counts them again from the
// cluster as it stands (engine.Reasons), so a count is never stale.
func (u Unplaced) Uncounted() Unplaced {
	if len(u.Filters) == 0 {
		return u
	}
	fs := make([]Filter, len(u.Filters))
	for i, f := range u.Filters {
		fs[i] = Filter{Code: f.Code, Args: f.Args}
	}
	slices.SortFunc(fs, func(a, b Filter) int {
		if c := cmp.Compare(a.Code, b.Code); c != 0 {
			return c
		}
		return slices.Compare(a.Args, b.Args)
	})
	u.Filters = fs
	return u
}

// Counted says whether u's filters carry their counts.
func (u Unplaced) Counted() bool {
	return len(u.Filters) == 0 || u.Machines() > 0
}

// Machines is how many machines the filters counted.
func (u Unplaced) Machines() int {
	n := 0
	for _, f := range u.Filters {
		n += f.Machines
	}
	return n
}

// Lasting says whether u holds until the machines (or the unit) change:
// every machine was filtered, each by a rule no other unit's stopping,
// moving or freeing room lifts (Code.Lasting). A unit that waits for room
// is not lasting.
func (u Unplaced) Lasting() bool {
	return u.Code == NoEligible && len(u.Filters) > 0 && !slices.ContainsFunc(u.Filters, func(f Filter) bool { return !f.Code.Lasting() })
}

// Filtered says whether some filter of u has code c.
func (u Unplaced) Filtered(c Code) bool {
	return slices.ContainsFunc(u.Filters, func(f Filter) bool { return f.Code == c })
}

// Count turns refusals, one per machine, into filters: one per distinct
// refusal, most machines first, then by code and arguments, so a record
// is the same whatever order the machines came in. Accepting refusals are
// not counted.
func Count(refusals []Refusal) []Filter {
	var out []Filter
	index := map[string]int{}
	for _, r := range refusals {
		if r.Accepted() {
			continue
		}
		k := string(r.Code) + "\x00" + strings.Join(r.Args, "\x00")
		if i, ok := index[k]; ok {
			out[i].Machines++
			continue
		}
		index[k] = len(out)
		out = append(out, Filter{Code: r.Code, Args: r.Args, Machines: 1})
	}
	slices.SortFunc(out, func(a, b Filter) int {
		if c := cmp.Compare(b.Machines, a.Machines); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Code, b.Code); c != 0 {
			return c
		}
		return slices.Compare(a.Args, b.Args)
	})
	return out
}

// Encode is the stored form of u: Uncounted.
func Encode(u Unplaced) []byte {
	b, err := json.Marshal(u.Uncounted())
	if err != nil { // strings and ints only: cannot fail
		panic(err)
	}
	return b
}

// Decode reads a stored record. What is not a record, such as the words an
// older Engine stored, is kept as Text, so it still reads as it did.
func Decode(b []byte) Unplaced {
	var u Unplaced
	if len(b) > 0 && b[0] == '{' && json.Unmarshal(b, &u) == nil && u.Code != "" {
		return u
	}
	return Unplaced{Code: Text, Args: []string{string(b)}}
}
