package registry

import (
	"context"
	"fmt"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// PublishState records what this Machine's systemd says of a Unit, under
// the machine's lease so the row disappears with the machine.
func (p *Presence) PublishState(ctx context.Context, s UnitState) error {
	return p.PublishStates(ctx, s.Machine, []UnitState{s}, nil)
}

// DeleteState removes this Machine's row for a Unit, and only that row
// (fleet deleted every machine's rows for the unit).
func (p *Presence) DeleteState(ctx context.Context, machine, unitName string) error {
	return p.PublishStates(ctx, machine, nil, []string{unitName})
}

// PublishStates writes the rows of put, under the machine's lease, and
// deletes machine's rows of the units named in del (only that machine's),
// in as few transactions as the registry's limit allows. An Agent whose
// units all change at once (a machine given its units, a fence) then costs
// etcd one request instead of one per unit: at 5,000 machines the
// per-request cost is what kept etcd from answering keep-alives. Each write
// stands alone, so a transaction carries no compare; when one fails the
// rest are not sent and the caller publishes them again.
func (p *Presence) PublishStates(ctx context.Context, machine string, put []UnitState, del []string) error {
	ops := make([]clientv3.Op, 0, len(put)+len(del))
	for _, s := range put {
		v := stateValue{Load: s.Load, Active: s.Active, Sub: s.Sub, State: s.State, Condition: s.Condition, Detail: s.Detail}
		if !s.Hash.IsZero() {
			v.Hash = s.Hash.String()
		}
		ops = append(ops, clientv3.OpPut(p.r.k.state(s.Machine, s.Unit), mustJSON(v), clientv3.WithLease(p.lease)))
	}
	for _, name := range del {
		ops = append(ops, clientv3.OpDelete(p.r.k.state(machine, name)))
	}
	for len(ops) > 0 {
		n := min(len(ops), p.r.txnOps)
		if _, err := p.r.cli.Txn(ctx).Then(ops[:n]...).Commit(); err != nil {
			return p.r.wrap(publishing(machine, put, del), err)
		}
		ops = ops[n:]
	}
	return nil
}

// publishing names what PublishStates was doing, for its errors.
func publishing(machine string, put []UnitState, del []string) string {
	switch {
	case len(put) == 1 && len(del) == 0:
		return "publish state of " + put[0].Unit
	case len(put) == 0 && len(del) == 1:
		return "delete state of " + del[0]
	}
	return fmt.Sprintf("publish %d and delete %d unit states of machine %s", len(put), len(del), machine)
}

// States lists every published UnitState, sorted by machine then unit.
func (r *Registry) States(ctx context.Context) ([]UnitState, error) {
	resp, err := r.cli.Get(ctx, r.k.states(), clientv3.WithPrefix())
	if err != nil {
		return nil, r.wrap("list unit states", err)
	}
	out := make([]UnitState, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		m, u, ok := strings.Cut(strings.TrimPrefix(string(kv.Key), r.k.states()), "/")
		if !ok {
			continue
		}
		s, err := decodeState(m, u, kv.Value)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}
