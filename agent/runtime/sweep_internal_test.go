package runtime

import (
	"slices"
	"testing"
	"time"

	"github.com/flota-dev/flota/agent/image"
)

func TestPlanSweep(t *testing.T) {
	t0 := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	const grace, keep = 30 * time.Minute, 24 * time.Hour
	kept := func(key string, ago time.Duration) image.Kept {
		at := t0.Add(-ago)
		return image.Kept{Key: key, Name: key + "-" + at.Format("20060102T150405.000000000Z"), At: at}
	}
	for _, tc := range []struct {
		name   string
		in     sweepInput
		tasks  []string
		failed []string
		untag  []string
		next   time.Time
	}{
		{
			name: "empty store",
		},
		{
			name: "a live task keeps its image however old",
			in: sweepInput{Live: map[string]bool{"a": true}, Tasks: []image.Task{{Key: "a", Layer: "sha256:aa"}},
				Tags: map[string]image.LayerID{"web:1": "sha256:aa"}, TagTimes: map[string]time.Time{"web:1": t0.Add(-48 * time.Hour)}},
		},
		{
			name: "a task whose unit is gone goes, and its image waits out the grace",
			in: sweepInput{Live: map[string]bool{"a": true}, Tasks: []image.Task{{Key: "a", Layer: "sha256:aa"}, {Key: "b", Layer: "sha256:bb"}},
				Tags: map[string]image.LayerID{"web:2": "sha256:bb"}, TagTimes: map[string]time.Time{"web:2": t0.Add(-time.Minute)}},
			tasks: []string{"b"},
			next:  t0.Add(grace - time.Minute),
		},
		{
			name: "an image unused past its grace is untagged; the earliest pending one sets next",
			in: sweepInput{Tags: map[string]image.LayerID{"old:1": "sha256:aa", "new:1": "sha256:bb", "newer:1": "sha256:cc"},
				TagTimes: map[string]time.Time{"old:1": t0.Add(-grace), "new:1": t0.Add(-10 * time.Minute), "newer:1": t0.Add(-time.Minute)}},
			untag: []string{"old:1"},
			next:  t0.Add(20 * time.Minute),
		},
		{
			name: "two names of one layer in use both stay",
			in: sweepInput{Live: map[string]bool{"a": true}, Tasks: []image.Task{{Key: "a", Layer: "sha256:aa"}},
				Tags:     map[string]image.LayerID{"web:1": "sha256:aa", "web:latest": "sha256:aa"},
				TagTimes: map[string]time.Time{"web:1": t0.Add(-time.Hour), "web:latest": t0.Add(-time.Hour)}},
		},
		{
			name:   "a unit keeps only its newest failed snapshot, until it expires",
			in:     sweepInput{Failed: []image.Kept{kept("a", 3*time.Hour), kept("a", time.Hour), kept("b", keep+time.Second), kept("c", 2*time.Hour)}},
			failed: []string{kept("a", 3*time.Hour).Name, kept("b", keep+time.Second).Name},
			next:   t0.Add(keep - 2*time.Hour),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.Now, tc.in.Grace, tc.in.KeepFailed = t0, grace, keep
			p := planSweep(tc.in)
			var failed []string
			for _, k := range p.Failed {
				failed = append(failed, k.Name)
			}
			slices.Sort(tc.failed)
			if !slices.Equal(p.Tasks, tc.tasks) || !slices.Equal(failed, tc.failed) || !slices.Equal(p.Untag, tc.untag) || !p.Next.Equal(tc.next) {
				t.Errorf("plan: tasks %v failed %v untag %v next %v\nwant: tasks %v failed %v untag %v next %v",
					p.Tasks, failed, p.Untag, p.Next, tc.tasks, tc.failed, tc.untag, tc.next)
			}
		})
	}
}
