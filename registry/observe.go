package registry

import (
	"context"
	"fmt"
	"strings"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// KeyChange is one change of a key of the registry's, told by kind, for
// tools that follow the whole store (flota-scale's observer): they learn
// what changed without knowing the key schema.
type KeyChange struct {
	// Kind is the key's directory: units, machines, labels, placements,
	// unplaced, notes, drains, moves, states, files, leader, or other.
	Kind    string
	Machine string // placements, states, machines, labels, drains
	Unit    string // placements, states, units, unplaced, notes, moves
	Deleted bool
	// State is, for a state key put, the state its agent reports.
	State State
}

// KeyChanges is one watch response's changes, or the error that ended the
// watch.
type KeyChanges struct {
	Changes []KeyChange
	Err     error
}

// WatchKeys follows every key under the registry's prefix from now on,
// one batch per watch response, until ctx ends (the channel is then
// closed).
func (r *Registry) WatchKeys(ctx context.Context) <-chan KeyChanges {
	out := make(chan KeyChanges)
	go func() {
		defer close(out)
		for resp := range r.cli.Watch(ctx, r.k.prefix, clientv3.WithPrefix()) {
			batch := KeyChanges{}
			if err := resp.Err(); err != nil {
				batch.Err = r.wrap("watch keys", err)
			}
			for _, ev := range resp.Events {
				batch.Changes = append(batch.Changes, r.k.change(ev))
			}
			select {
			case out <- batch:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

// change classifies one event.
func (k keys) change(ev *clientv3.Event) KeyChange {
	key := string(ev.Kv.Key)
	c := KeyChange{Deleted: ev.Type == mvccpb.DELETE, Kind: "other"}
	switch kind, a, b := k.parse(key); kind {
	case kindUnit:
		c.Kind, c.Unit = "units", a
	case kindMachine:
		c.Kind, c.Machine = "machines", a
	case kindPlacement:
		c.Kind, c.Machine, c.Unit = "placements", a, b
	case kindUnplaced:
		c.Kind, c.Unit = "unplaced", a
	case kindNotes:
		c.Kind, c.Unit = "notes", a
	case kindDrain:
		c.Kind, c.Machine = "drains", a
	case kindLabels:
		c.Kind, c.Machine = "labels", a
	case kindMove:
		c.Kind, c.Unit = "moves", a
	default:
		rest := strings.TrimPrefix(key, k.prefix)
		switch {
		case strings.HasPrefix(rest, dirStates):
			c.Kind = "states"
			c.Machine, c.Unit, _ = strings.Cut(rest[len(dirStates):], "/")
			if !c.Deleted {
				if s, err := decodeState(c.Machine, c.Unit, ev.Kv.Value); err == nil {
					c.State = s.State
				}
			}
		case strings.HasPrefix(rest, dirFiles):
			c.Kind = "files"
		case strings.HasPrefix(rest, dirLeader):
			c.Kind = "leader"
		}
	}
	return c
}

// DBSize is the size in bytes of the database of the etcd member that
// serves endpoint.
func (r *Registry) DBSize(ctx context.Context, endpoint string) (int64, error) {
	st, err := r.cli.Status(ctx, endpoint)
	if err != nil {
		return 0, r.wrap(fmt.Sprintf("status of %s", endpoint), err)
	}
	return st.DbSize, nil
}
