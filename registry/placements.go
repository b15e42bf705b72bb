package registry

import (
	"context"
	"strings"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// MachinePlacements reads one Machine's Placements and the revision they
// were read at, from which WatchPlacements resumes.
func (r *Registry) MachinePlacements(ctx context.Context, machine string) ([]Placement, int64, error) {
	prefix := r.k.machinePlacements(machine)
	resp, err := r.cli.Get(ctx, prefix, clientv3.WithPrefix())
	if err != nil {
		return nil, 0, r.wrap("read placements of "+machine, err)
	}
	out := make([]Placement, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		p, err := decodePlacement(machine, strings.TrimPrefix(string(kv.Key), prefix), kv.Value)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, p)
	}
	return out, resp.Header.Revision, nil
}

// PlacementEvent is a change to one of a Machine's Placements. Removed is
// set when the Placement left the machine; Err when the watch broke (the
// Agent then reads its Placements again).
type PlacementEvent struct {
	Revision  int64
	Placement Placement
	Removed   bool
	Err       error
}

// WatchPlacements streams changes to machine's Placements after revision
// after. Only this machine's prefix is watched.
func (r *Registry) WatchPlacements(ctx context.Context, machine string, after int64) <-chan PlacementEvent {
	prefix := r.k.machinePlacements(machine)
	out := make(chan PlacementEvent)
	wch := r.cli.Watch(clientv3.WithRequireLeader(ctx), prefix, clientv3.WithPrefix(), clientv3.WithRev(after+1))
	send := func(ev PlacementEvent) bool {
		select {
		case out <- ev:
			return true
		case <-ctx.Done():
			return false
		}
	}
	go func() {
		defer close(out)
		for resp := range wch {
			if err := resp.Err(); err != nil {
				send(PlacementEvent{Err: r.wrap("watch placements of "+machine, err)})
				return
			}
			for _, ev := range resp.Events {
				name := strings.TrimPrefix(string(ev.Kv.Key), prefix)
				pe := PlacementEvent{Revision: ev.Kv.ModRevision}
				if ev.Type == mvccpb.DELETE {
					pe.Placement = Placement{Unit: name, Machine: machine}
					pe.Removed = true
				} else if p, err := decodePlacement(machine, name, ev.Kv.Value); err != nil {
					pe.Err = err
				} else {
					pe.Placement = p
				}
				if !send(pe) {
					return
				}
			}
		}
	}()
	return out
}
