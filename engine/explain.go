package engine

import (
	"fmt"
	"sort"
	"strings"
)

// explanation counts, per rejection, how many machines it filtered, and
// words the result like Nomad's placement failures.
type explanation struct {
	total  int
	counts map[string]int
}

func (e *explanation) add(why string) {
	if e.counts == nil {
		e.counts = map[string]int{}
	}
	e.counts[why]++
}

func (e *explanation) String() string {
	if e.total == 0 {
		return "no machines registered"
	}
	whys := make([]string, 0, len(e.counts))
	for w := range e.counts {
		whys = append(whys, w)
	}
	// Most filtering first, then by wording, so the text is stable.
	sort.Slice(whys, func(i, j int) bool {
		if e.counts[whys[i]] != e.counts[whys[j]] {
			return e.counts[whys[i]] > e.counts[whys[j]]
		}
		return whys[i] < whys[j]
	})
	parts := make([]string, len(whys))
	for i, w := range whys {
		parts[i] = fmt.Sprintf("%s filtered %d %s", w, e.counts[w], plural(e.counts[w], "machine"))
	}
	return fmt.Sprintf("no eligible machine among %d: %s", e.total, strings.Join(parts, "; "))
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
