package scale

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"time"
)

// pass is one engine pass, as the engine's debug log line says it.
type pass struct {
	at                     time.Time
	build, schedule, apply time.Duration
	changes                int
}

// readPasses parses the "engine pass" lines of an engine's log (slog's
// text format, key=value).
func readPasses(path string) []pass {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []pass
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 1<<20), 1<<20)
	for s.Scan() {
		line := s.Text()
		if !strings.Contains(line, `msg="engine pass"`) {
			continue
		}
		var p pass
		for _, field := range strings.Fields(line) {
			k, v, ok := strings.Cut(field, "=")
			if !ok {
				continue
			}
			switch k {
			case "time":
				p.at, _ = time.Parse(time.RFC3339Nano, v)
			case "build":
				p.build, _ = time.ParseDuration(v)
			case "schedule":
				p.schedule, _ = time.ParseDuration(v)
			case "apply":
				p.apply, _ = time.ParseDuration(v)
			case "changes":
				p.changes, _ = strconv.Atoi(v)
			}
		}
		out = append(out, p)
	}
	return out
}

// passStats sums up the passes of a window.
type passStats struct {
	n                int
	cost, max, apply time.Duration // cost: build+schedule
	changes          int
}

func statsOf(ps []pass, from, to time.Time) passStats {
	var s passStats
	for _, p := range ps {
		if p.at.Before(from) || p.at.After(to) {
			continue
		}
		c := p.build + p.schedule
		s.n++
		s.cost += c
		s.max = max(s.max, c)
		s.apply += p.apply
		s.changes += p.changes
	}
	return s
}
