package registry

import (
	"context"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// Leadership is held by the one Engine allowed to write Placements. Its
// fence (the election key and the revision that created it) is compared in
// every write, so a deposed Engine's late writes fail instead of landing:
// the pattern of etcd's Election.Proclaim.
type Leadership struct {
	sess *concurrency.Session
	e    *concurrency.Election
}

// Campaign blocks until this Engine, named id, leads or ctx ends. The
// leadership lasts while its session lease (ttl) is kept alive.
func (r *Registry) Campaign(ctx context.Context, id string, ttl time.Duration) (*Leadership, error) {
	sess, err := concurrency.NewSession(r.cli, concurrency.WithTTL(max(int(ttl/time.Second), 1)), concurrency.WithContext(ctx))
	if err != nil {
		return nil, r.wrap("open election session", err)
	}
	e := concurrency.NewElection(sess, r.k.leader())
	if err := e.Campaign(ctx, id); err != nil {
		_ = sess.Close()
		return nil, r.wrap("campaign for engine leadership", err)
	}
	// Campaign returns once every earlier candidate's key is gone, without
	// looking at its own: when etcd revoked our session's lease meanwhile
	// (it revokes every lease it finds expired after a stall), our key is
	// gone too and we lead nothing. Only a linearizable read of the key, at
	// the revision that created it, says we lead.
	if err := r.checkOwnKey(ctx, sess, e); err != nil {
		_ = sess.Close()
		return nil, err
	}
	return &Leadership{sess: sess, e: e}, nil
}

// checkOwnKey confirms that e's key still exists as e created it, and that
// its session is alive.
func (r *Registry) checkOwnKey(ctx context.Context, sess *concurrency.Session, e *concurrency.Election) error {
	select {
	case <-sess.Done():
		return fmt.Errorf("campaign for engine leadership: %w: the session ended while campaigning", ErrNotLeader)
	default:
	}
	resp, err := r.cli.Get(ctx, e.Key())
	if err != nil {
		return r.wrap("confirm engine leadership", err)
	}
	if len(resp.Kvs) == 0 || resp.Kvs[0].CreateRevision != e.Rev() || resp.Kvs[0].Lease != int64(sess.Lease()) {
		return fmt.Errorf("campaign for engine leadership: %w: its election key %s is gone (its lease was revoked while it waited)", ErrNotLeader, e.Key())
	}
	return nil
}

// Done is closed when the leadership's session ends.
func (l *Leadership) Done() <-chan struct{} { return l.sess.Done() }

// Resign gives leadership up so another Engine takes over at once.
func (l *Leadership) Resign(ctx context.Context) error {
	err := l.e.Resign(ctx)
	_ = l.sess.Close()
	if err != nil {
		return fmt.Errorf("resign engine leadership: %w", err)
	}
	return nil
}

// fence is the Compare that holds only while this leadership does.
func (l *Leadership) fence() clientv3.Cmp {
	return clientv3.Compare(clientv3.CreateRevision(l.e.Key()), "=", l.e.Rev())
}

// Leader names the Engine that leads now, or "" if none does.
func (r *Registry) Leader(ctx context.Context) (string, error) {
	resp, err := r.cli.Get(ctx, r.k.leader(), clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortAscend), clientv3.WithLimit(1))
	if err != nil {
		return "", r.wrap("read engine leader", err)
	}
	if len(resp.Kvs) == 0 {
		return "", nil
	}
	return string(resp.Kvs[0].Value), nil
}
