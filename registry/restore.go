package registry

import (
	"context"
	"fmt"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Check reads the Machine's record and writes it back, under the lease,
// when something else deleted it or took it (stolen); it says whether it
// wrote. A record deleted by hand, or by a client of a cluster without
// roles, made the Engine move every unit of a machine that was there all
// along, and the machine stayed invisible for as long as its lease lived:
// 39 s on the harness. The Agent calls it when units leave it and every
// few minutes (agent.Config.RecordCheck).
//
// It is a read, not a watch: a watch of its own record for each of 5,000
// simulated machines made the scale run lose 12,393 registrations where
// none was lost without it (README). The read is serializable: what a
// member behind the others answers at worst fails the write's compare,
// and the next check looks again.
func (p *Presence) Check(ctx context.Context) (bool, error) {
	key := p.r.k.machine(p.m.ID)
	resp, err := p.r.cli.Get(ctx, key, clientv3.WithSerializable())
	if err != nil {
		return false, p.r.wrap("read machine "+p.m.ID+"'s record", err)
	}
	var kv *mvccpb.KeyValue // nil: no record
	var rev int64           // the record's ModRevision as read; 0 when absent, as etcd compares it
	if len(resp.Kvs) == 1 {
		kv, rev = resp.Kvs[0], resp.Kvs[0].ModRevision
	}
	if !p.stolen(kv) {
		return false, nil
	}
	// Written back only over what was read: a record another Presence
	// wrote meanwhile is its to keep, and a member's stale read changes
	// nothing.
	txn, err := p.r.txn(ctx).If(clientv3.Compare(clientv3.ModRevision(key), "=", rev)).
		Then(clientv3.OpPut(key, *p.record.Load(), clientv3.WithLease(p.lease))).Commit()
	if err != nil {
		return false, p.r.wrap(fmt.Sprintf("write machine %s's record back", p.m.ID), err)
	}
	return txn.Succeeded, nil
}

// stolen says whether the record kv (nil: none) was taken from this
// Presence: deleted, written under no lease, or changed under its lease. A
// record under another lease is another Presence's, which holds the ID now
// (two flotads given one machine ID, or one registering anew); writing
// back over that would make the two rewrite each other's.
func (p *Presence) stolen(kv *mvccpb.KeyValue) bool {
	if kv == nil {
		return true
	}
	switch clientv3.LeaseID(kv.Lease) {
	case 0:
		return true
	case p.lease:
		return string(kv.Value) != *p.record.Load()
	}
	return false
}
