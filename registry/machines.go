package registry

import (
	"context"
	"fmt"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Presence is a Machine's registration: a lease kept alive for as long as
// the Agent runs. When the lease is lost (etcd expired it after a partition
// longer than its TTL), Lost is closed and the Agent registers again.
type Presence struct {
	r     *Registry
	lease clientv3.LeaseID
	lost  chan struct{}
}

// Register publishes m under a new lease of ttl and keeps the lease alive
// until ctx ends. Re-registering an ID that still exists moves its key to the
// new lease without deleting it, so a restarted Agent keeps its Placements.
func (r *Registry) Register(ctx context.Context, m Machine, ttl time.Duration) (*Presence, error) {
	if m.ID == "" || strings.ContainsAny(m.ID, "/ \t\n") {
		return nil, fmt.Errorf("%w: machine ID %q", ErrInvalid, m.ID)
	}
	secs := int64(ttl / time.Second)
	if secs < 1 {
		secs = 1
	}
	grant, err := r.cli.Grant(ctx, secs)
	if err != nil {
		return nil, r.wrap("register machine "+m.ID, err)
	}
	v := machineValue{IP: m.IP, Metadata: m.Metadata, API: m.API}
	if m.Capacity != (Capacity{}) {
		v.Capacity = &m.Capacity
	}
	val := mustJSON(v)
	if _, err := r.cli.Put(ctx, r.k.machine(m.ID), val, clientv3.WithLease(grant.ID)); err != nil {
		return nil, r.wrap("register machine "+m.ID, err)
	}
	ch, err := r.cli.KeepAlive(ctx, grant.ID)
	if err != nil {
		return nil, r.wrap("keep machine "+m.ID+" alive", err)
	}
	p := &Presence{r: r, lease: grant.ID, lost: make(chan struct{})}
	go func() {
		for range ch { // drain keep-alive answers until the lease is gone
		}
		close(p.lost)
	}()
	return p, nil
}

// Lost is closed when the lease can no longer be kept alive, or ctx ended.
func (p *Presence) Lost() <-chan struct{} { return p.lost }

// Machines lists the registered machines, sorted by ID.
func (r *Registry) Machines(ctx context.Context) ([]Machine, error) {
	resp, err := r.cli.Get(ctx, r.k.machines(), clientv3.WithPrefix())
	if err != nil {
		return nil, r.wrap("list machines", err)
	}
	out := make([]Machine, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		m, err := decodeMachine(strings.TrimPrefix(string(kv.Key), r.k.machines()), kv.Value, kv.CreateRevision)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}
