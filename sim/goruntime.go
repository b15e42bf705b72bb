package sim

import (
	"context"
	"fmt"
	"io"
	"math"
	"runtime/metrics"
	"time"

	"github.com/flota-dev/flota/registry"
)

// goSample is what this process's Go runtime has counted so far of the
// time its goroutines waited to run and of its stop-the-world pauses: a
// simulated machine's keep-alive answer that waits for its goroutine to
// run is as late, to its fuse, as one etcd held back.
type goSample struct {
	latencies *metrics.Float64Histogram // /sched/latencies:seconds
	pauses    *metrics.Float64Histogram // /sched/pauses/total/gc:seconds
	gcs       uint64                    // /gc/cycles/total:gc-cycles
}

func sampleGo() goSample {
	s := []metrics.Sample{
		{Name: "/sched/latencies:seconds"},
		{Name: "/sched/pauses/total/gc:seconds"},
		{Name: "/gc/cycles/total:gc-cycles"},
	}
	metrics.Read(s)
	var g goSample
	if s[0].Value.Kind() == metrics.KindFloat64Histogram {
		g.latencies = s[0].Value.Float64Histogram()
	}
	if s[1].Value.Kind() == metrics.KindFloat64Histogram {
		g.pauses = s[1].Value.Float64Histogram()
	}
	if s[2].Value.Kind() == metrics.KindUint64 {
		g.gcs = s[2].Value.Uint64()
	}
	return g
}

// goWindow is what the runtime counted between two samples.
type goWindow struct {
	latP99, latMax time.Duration // a goroutine's wait to run
	pauseMax       time.Duration // the longest GC pause
	pauseTotal     time.Duration
	gcs            uint64
}

func (s goSample) since(then goSample) goWindow {
	w := goWindow{gcs: s.gcs - then.gcs}
	w.latP99, w.latMax, _ = histDelta(s.latencies, then.latencies, 0.99)
	_, w.pauseMax, w.pauseTotal = histDelta(s.pauses, then.pauses, 0.99)
	return w
}

// histDelta is the q quantile, the largest value and (approximately) the
// sum of the values a runtime histogram counted between then and now, each
// taken at its bucket's upper bound (the largest at its lower bound when
// that bucket is unbounded).
func histDelta(now, then *metrics.Float64Histogram, q float64) (quantile, largest, sum time.Duration) {
	if now == nil || then == nil || len(now.Counts) != len(then.Counts) {
		return 0, 0, 0
	}
	d := make([]uint64, len(now.Counts))
	var n uint64
	for i := range d {
		d[i] = now.Counts[i] - then.Counts[i]
		n += d[i]
	}
	if n == 0 {
		return 0, 0, 0
	}
	bound := func(i int) float64 { // bucket i is [Buckets[i], Buckets[i+1])
		if hi := now.Buckets[i+1]; !math.IsInf(hi, 1) {
			return hi
		}
		return now.Buckets[i]
	}
	want := uint64(math.Ceil(q * float64(n)))
	var seen uint64
	var sumS float64
	for i, c := range d {
		if c == 0 {
			continue
		}
		sumS += float64(c) * bound(i)
		if seen < want && seen+c >= want {
			quantile = secs(bound(i))
		}
		seen += c
		largest = secs(bound(i))
	}
	return quantile, largest, secs(sumS)
}

func secs(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// LogRuntime writes, each second until ctx ends, what this process's Go
// runtime counted of its goroutines' waits to run and of its GC pauses,
// and what the machines' clients measured of their keep-alives: the
// figures that tell whether a late keep-alive answer was late in etcd or
// in this process.
func LogRuntime(ctx context.Context, w io.Writer, regs []*registry.Registry) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	prev := sampleGo()
	prevKA := KeepAlives(regs)
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s := sampleGo()
			g := s.since(prev)
			prev = s
			ka := KeepAlives(regs)
			trip, hand := ka.Trip.Sub(prevKA.Trip), ka.Handoff.Sub(prevKA.Handoff)
			n := ka.Answered - prevKA.Answered
			prevKA = ka
			fmt.Fprintf(w, "%s sched-latency p99 %v max %v; gc %d, pauses %v total, %v max; keep-alives %d answered, trip p50 %v p99 %v, handoff p99 %v, max trip %v handoff %v gap %v\n", now.Format("15:04:05.000"),
				g.latP99.Round(time.Microsecond), g.latMax.Round(time.Microsecond), g.gcs, g.pauseTotal.Round(time.Microsecond), g.pauseMax.Round(time.Microsecond),
				n, trip.Quantile(0.5), trip.Quantile(0.99), hand.Quantile(0.99), ka.Trip.Max.Round(time.Millisecond), ka.Handoff.Max.Round(time.Millisecond), ka.Gap.Round(time.Millisecond))
		}
	}
}

// KeepAlives adds up what the clients measured of their keep-alives.
func KeepAlives(regs []*registry.Registry) registry.KeepAliveStats {
	var out registry.KeepAliveStats
	for _, r := range regs {
		s := r.KeepAliveStats()
		out.Answered += s.Answered
		for i := range s.Trip.Counts {
			out.Trip.Counts[i] += s.Trip.Counts[i]
			out.Handoff.Counts[i] += s.Handoff.Counts[i]
		}
		out.Trip.Max = max(out.Trip.Max, s.Trip.Max)
		out.Handoff.Max = max(out.Handoff.Max, s.Handoff.Max)
		out.Gap = max(out.Gap, s.Gap)
	}
	return out
}
