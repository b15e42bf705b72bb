package engine

import "sort"

// replaceCycles finds units on a cycle of Replaces= (a replaces b, b
// replaces a): placing them would evict each other for ever, so none of them
// is placed. It returns each such unit with the cycle found through it.
func replaceCycles(units map[string]*Unit) map[string][]string {
	var replacers []string
	for n, u := range units {
		if len(u.Req.Replaces) > 0 {
			replacers = append(replacers, n)
		}
	}
	if len(replacers) == 0 {
		return nil
	}
	sort.Strings(replacers)
	edges := map[string][]string{}
	for _, a := range replacers {
		for _, b := range replacers { // only units that replace others can close a cycle
			if a != b && units[a].Req.ReplacesUnit(b) {
				edges[a] = append(edges[a], b)
			}
		}
	}
	out := map[string][]string{}
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var stack []string
	var visit func(n string)
	visit = func(n string) {
		color[n] = grey
		stack = append(stack, n)
		for _, m := range edges[n] {
			switch color[m] {
			case white:
				visit(m)
			case grey:
				start := len(stack) - 1
				for stack[start] != m {
					start--
				}
				cycle := append(append([]string(nil), stack[start:]...), m)
				for _, c := range stack[start:] {
					if _, ok := out[c]; !ok {
						out[c] = cycle
					}
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[n] = black
	}
	for _, n := range replacers {
		if color[n] == white {
			visit(n)
		}
	}
	return out
}

// evicts says whether placing u on a machine takes v's place there: u
// Replaces= v. A Global unit is never evicted: it runs on every machine
// that accepts it and has nowhere else to move to, so a Replaces= naming
// one makes no room, and a Conflicts= between them stands. Every rule that
// cares (placement, Conflicts=, the replaced unit's own check, reserved
// resources) asks this one predicate: when they disagreed, a pass could
// place what the next pass took back.
func evicts(u, v *Unit) bool {
	return v.Name != u.Name && !v.Req.Global && u.Req.ReplacesUnit(v.Name)
}
