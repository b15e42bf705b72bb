package registry

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc"
)

// KeepAliveStats is what a Registry measured of its lease keep-alives:
// the time from a request leaving on its stream to etcd's answer being
// read from it (etcd's work, the link, and the client's reading), and
// from that answer to the Presence it renews seeing it (the client's
// goroutines). A machine's fuse blows when the two add up to more than
// its lease can wait.
type KeepAliveStats struct {
	Answered int           // answers read
	Trip     Durations     // request sent → answer read
	Handoff  Durations     // answer read → its Presence saw it
	Gap      time.Duration // the longest a Presence went between two answers
}

// Durations is a distribution, in buckets of powers of two from 1 ms.
type Durations struct {
	Counts [durationBuckets]int // Counts[i]: values below 2^i ms (the last: all above)
	Max    time.Duration
}

const durationBuckets = 16 // up to 32 s

// With is d with v added.
func (d Durations) With(v time.Duration) Durations {
	d.add(v)
	return d
}

func (d *Durations) add(v time.Duration) {
	i := 0
	for i < durationBuckets-1 && v >= time.Millisecond<<i {
		i++
	}
	d.Counts[i]++
	d.Max = max(d.Max, v)
}

// Quantile is the upper bound of the bucket holding the q quantile (Max
// for the last bucket).
func (d Durations) Quantile(q float64) time.Duration {
	n := 0
	for _, c := range d.Counts {
		n += c
	}
	if n == 0 {
		return 0
	}
	want := int(q*float64(n) + 0.999999)
	seen := 0
	for i, c := range d.Counts {
		seen += c
		if seen >= want {
			if i == durationBuckets-1 {
				return d.Max
			}
			return min(time.Millisecond<<i, d.Max)
		}
	}
	return d.Max
}

// Sub is the distribution of the values added since then.
func (d Durations) Sub(then Durations) Durations {
	out := Durations{Max: d.Max}
	for i := range d.Counts {
		out.Counts[i] = d.Counts[i] - then.Counts[i]
	}
	return out
}

// keepAliveTimer times the lease keep-alive streams of one client.
type keepAliveTimer struct {
	mu    sync.Mutex
	stats KeepAliveStats
	read  map[int64]time.Time // lease → when its latest answer was read
	// watched are the leases of Presences: each one's latest answer
	// read, in Unix nanoseconds, for Presence.LastAnswer.
	watched map[int64]*atomic.Int64
}

// maxUnseen bounds the answers read that wait for their Presence.
const maxUnseen = 1 << 16

func newKeepAliveTimer() *keepAliveTimer {
	return &keepAliveTimer{read: map[int64]time.Time{}, watched: map[int64]*atomic.Int64{}}
}

// KeepAliveStats is what this Registry measured of its keep-alives so
// far.
func (r *Registry) KeepAliveStats() KeepAliveStats {
	r.kat.mu.Lock()
	defer r.kat.mu.Unlock()
	return r.kat.stats
}

// stream wraps a client stream of Lease.LeaseKeepAlive.
func (t *keepAliveTimer) stream(s grpc.ClientStream) grpc.ClientStream {
	return &timedStream{ClientStream: s, t: t, sent: map[int64][]time.Time{}}
}

// timedStream matches each answer to the oldest request of its lease
// still unanswered on the stream: etcd answers a stream's requests in
// order.
type timedStream struct {
	grpc.ClientStream
	t    *keepAliveTimer
	mu   sync.Mutex
	sent map[int64][]time.Time
}

func (s *timedStream) SendMsg(m any) error {
	if req, ok := m.(*pb.LeaseKeepAliveRequest); ok {
		s.mu.Lock()
		s.sent[req.ID] = append(s.sent[req.ID], time.Now())
		s.mu.Unlock()
	}
	return s.ClientStream.SendMsg(m)
}

func (s *timedStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	resp, ok := m.(*pb.LeaseKeepAliveResponse)
	if err != nil || !ok {
		return err
	}
	now := time.Now()
	s.mu.Lock()
	q := s.sent[resp.ID]
	var sent time.Time
	if len(q) > 0 {
		sent = q[0]
		if len(q) == 1 {
			delete(s.sent, resp.ID)
		} else {
			s.sent[resp.ID] = q[1:]
		}
	}
	s.mu.Unlock()
	s.t.mu.Lock()
	s.t.stats.Answered++
	if !sent.IsZero() {
		s.t.stats.Trip.add(now.Sub(sent))
	}
	if w := s.t.watched[resp.ID]; w != nil && resp.TTL > 0 {
		w.Store(now.UnixNano())
	}
	if len(s.t.read) >= maxUnseen {
		// Answers no Presence takes (an election's session, a lease
		// given up) would otherwise pile up here.
		clear(s.t.read)
	}
	s.t.read[resp.ID] = now
	s.t.mu.Unlock()
	return nil
}

// watch starts recording when each answer for lease is read.
func (t *keepAliveTimer) watch(lease int64) *atomic.Int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	w := &atomic.Int64{}
	t.watched[lease] = w
	return w
}

func (t *keepAliveTimer) unwatch(lease int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.watched, lease)
}

// seen records that the Presence of lease saw an answer at t, gap after
// the one before.
func (t *keepAliveTimer) seen(lease int64, at time.Time, gap time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if read, ok := t.read[lease]; ok {
		t.stats.Handoff.add(at.Sub(read))
		delete(t.read, lease)
	}
	t.stats.Gap = max(t.stats.Gap, gap)
}

// interceptor is the stream interceptor that times keep-alive streams.
func (t *keepAliveTimer) interceptor(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	s, err := streamer(ctx, desc, cc, method, opts...)
	if err != nil || method != pb.Lease_LeaseKeepAlive_FullMethodName {
		return s, err
	}
	return t.stream(s), nil
}
