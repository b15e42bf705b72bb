package registry

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Presence is a Machine's registration: a lease kept alive for as long as
// the Agent runs. When the lease is lost (etcd expired it after a partition
// longer than its TTL), Lost is closed and the Agent registers again.
//
// Acked tells when etcd last answered a keep-alive: the lease cannot expire
// before that moment plus TTL (less the answer's trip back), which is what
// lets an Agent stop units before another machine may be given them.
type Presence struct {
	r     *Registry
	m     Machine // as registered
	lease clientv3.LeaseID
	ttl   time.Duration
	lost  chan struct{}
	acked chan time.Time // the latest answer's time; holds at most one
	read  *atomic.Int64  // when the latest answer was read off the stream (Unix ns), 0: none yet
	// record is the Machine's record as this Presence last wrote it, which
	// Check writes back when something else changed it (restore.go).
	record atomic.Pointer[string]
}

// Register publishes m under a new lease of ttl and keeps the lease alive
// until ctx ends. Re-registering an ID that still exists moves its key to the
// new lease without deleting it, so a restarted Agent keeps its Placements.
//
// Each request has CallTimeout: an answer held up behind a dead link would
// otherwise arrive after the lease it grants had already expired.
func (r *Registry) Register(ctx context.Context, m Machine, ttl time.Duration) (*Presence, error) {
	if m.ID == "" || strings.ContainsAny(m.ID, "/ \t\n") {
		return nil, fmt.Errorf("%w: machine ID %q", ErrInvalid, m.ID)
	}
	secs := int64(ttl / time.Second)
	if secs < 1 {
		secs = 1
	}
	asked := time.Now() // the lease runs from no earlier than this
	gctx, cancel := context.WithTimeout(ctx, CallTimeout)
	grant, err := r.cli.Grant(gctx, secs)
	cancel()
	if err != nil {
		return nil, r.wrap("register machine "+m.ID, err)
	}
	val := machineRecord(m)
	pctx, cancel := context.WithTimeout(ctx, CallTimeout)
	_, err = r.cli.Put(pctx, r.k.machine(m.ID), val, clientv3.WithLease(grant.ID))
	cancel()
	if err != nil {
		r.revokeSoon(ctx, grant.ID)
		return nil, r.wrap("register machine "+m.ID, err)
	}
	ch, err := r.cli.KeepAlive(ctx, grant.ID)
	if err != nil {
		r.revokeSoon(ctx, grant.ID)
		return nil, r.wrap("keep machine "+m.ID+" alive", err)
	}
	p := &Presence{r: r, m: m, lease: grant.ID, ttl: time.Duration(grant.TTL) * time.Second, lost: make(chan struct{}), acked: make(chan time.Time, 1),
		read: r.kat.watch(int64(grant.ID))}
	p.ack(asked)
	p.record.Store(&val)
	go p.keepAlive(ctx, ch, asked)
	return p, nil
}

// machineRecord is the value of m's presence key.
func machineRecord(m Machine) string {
	v := machineValue{IP: m.IP, Metadata: m.Metadata, API: m.API, Refused: m.Refused, Version: m.Version}
	if m.Capacity != (Capacity{}) {
		v.Capacity = &m.Capacity
	}
	return mustJSON(v)
}

// Refuse rewrites the Machine's record with the units its Agent refuses
// (Machine.Refused; nil: none), under its lease. The Machine's record
// changing is what makes the Engine decide again, and place them elsewhere.
func (p *Presence) Refuse(ctx context.Context, refused map[string]string) error {
	m := p.m
	m.Refused = refused
	val := machineRecord(m)
	p.record.Store(&val) // before the write, so that Check takes it for ours
	if _, err := p.r.cli.Put(ctx, p.r.k.machine(m.ID), val, clientv3.WithLease(p.lease)); err != nil {
		return p.r.wrap("publish the units machine "+m.ID+" refuses", err)
	}
	return nil
}

// keepAlive follows the lease's keep-alive stream until the lease is gone.
// The stream runs on one connection: when that connection's member is cut
// off, its answers stop until gRPC drops the connection, which takes 10 s
// or more, twice a 5 s lease. So when the stream has been silent for longer
// than its period, the lease is kept alive by single requests, which the
// client sends to the members that answer.
//
// It wakes for answers, and for silences only: a ticker of its own would
// wake each of 5,000 simulated machines twice a second to find the stream
// alive (15% of the simulating process's CPU).
func (p *Presence) keepAlive(ctx context.Context, ch <-chan *clientv3.LeaseKeepAliveResponse, last time.Time) {
	defer close(p.lost)
	defer p.r.kat.unwatch(int64(p.lease))
	silent := p.ttl/3 + keepAliveCheck // the stream is late past this
	timer := time.NewTimer(time.Until(last.Add(silent)))
	defer timer.Stop()
	for {
		select {
		case _, ok := <-ch: // each answer extends the lease; the channel closes when it is gone
			if !ok {
				return
			}
			now := time.Now()
			p.r.kat.seen(int64(p.lease), now, now.Sub(last))
			last = now
			p.ack(last)
			timer.Reset(silent)
		case <-timer.C:
			if wait := time.Until(last.Add(silent)); wait > 0 {
				timer.Reset(wait)
				continue
			}
			asked := time.Now()
			octx, cancel := context.WithTimeout(ctx, keepAliveCheck)
			resp, err := p.r.cli.KeepAliveOnce(octx, p.lease)
			cancel()
			switch {
			case errors.Is(err, rpctypes.ErrLeaseNotFound):
				return // etcd expired it: register again
			case err == nil && resp.TTL > 0:
				now := time.Now()
				p.r.kat.seen(int64(p.lease), now, now.Sub(last))
				last = now
				p.ack(last)
				timer.Reset(silent)
			default: // still silent: try again keepAliveCheck after this try began
				timer.Reset(max(keepAliveCheck-time.Since(asked), 0))
			}
		case <-ctx.Done():
			return
		}
	}
}

// keepAliveCheck is how often a silent keep-alive stream is looked at, and
// how long a single keep-alive may take.
const keepAliveCheck = 500 * time.Millisecond

// revokeSoon gives back a lease whose registration failed half way, so its
// key does not linger for a TTL; failing that, etcd expires it anyway.
func (r *Registry) revokeSoon(ctx context.Context, id clientv3.LeaseID) {
	go func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), CallTimeout)
		defer cancel()
		_, _ = r.cli.Revoke(ctx, id)
	}()
}

func (p *Presence) ack(t time.Time) {
	select { // keep only the latest
	case <-p.acked:
	default:
	}
	p.acked <- t
}

// LastAnswer is when the latest keep-alive answer that found the lease
// alive was read off its stream (zero before the first): as good a proof
// as Acked's, and no later than it, but known before the answer has made
// its way through the client's goroutines to the Presence and on to its
// reader, which, in a process short of CPU, took seconds. A fuse about to
// blow looks here first.
func (p *Presence) LastAnswer() time.Time {
	if ns := p.read.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

// Lost is closed when the lease can no longer be kept alive, or ctx ended.
func (p *Presence) Lost() <-chan struct{} { return p.lost }

// Acked delivers the time of etcd's latest keep-alive answer (first, the
// time the lease was asked for). Only the latest waits to be read.
func (p *Presence) Acked() <-chan time.Time { return p.acked }

// TTL is the lease's time to live as granted.
func (p *Presence) TTL() time.Duration { return p.ttl }

// Machines lists the registered machines, sorted by ID, with their labels
// applied to their Metadata (machines and labels read at one revision).
func (r *Registry) Machines(ctx context.Context) ([]Machine, error) {
	resp, err := r.cli.Txn(ctx).Then(
		clientv3.OpGet(r.k.machines(), clientv3.WithPrefix()),
		clientv3.OpGet(r.k.labels(), clientv3.WithPrefix()),
	).Commit()
	if err != nil {
		return nil, r.wrap("list machines", err)
	}
	labels, err := r.decodeAllLabels(resp.Responses[1].GetResponseRange().Kvs)
	if err != nil {
		return nil, err
	}
	kvs := resp.Responses[0].GetResponseRange().Kvs
	out := make([]Machine, 0, len(kvs))
	for _, kv := range kvs {
		id := strings.TrimPrefix(string(kv.Key), r.k.machines())
		m, err := decodeMachine(id, kv.Value, kv.CreateRevision)
		if err != nil {
			return nil, err
		}
		out = append(out, withLabels(m, labels[id]))
	}
	return out, nil
}

// decodeAllLabels reads the records under <p>cluster/labels/, by machine.
func (r *Registry) decodeAllLabels(kvs []*mvccpb.KeyValue) (map[string]Labels, error) {
	out := make(map[string]Labels, len(kvs))
	for _, kv := range kvs {
		id := strings.TrimPrefix(string(kv.Key), r.k.labels())
		l, err := decodeLabels(id, kv.Value, kv.ModRevision)
		if err != nil {
			return nil, err
		}
		out[id] = l
	}
	return out, nil
}
