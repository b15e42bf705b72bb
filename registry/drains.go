package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Drain is an operator's drain of a machine (flotactl drain): the machine
// takes no new unit and its units move elsewhere. It is stored under the
// machine's ID, not under its lease: a drain outlives the machine's
// restarts, and ends only by undrain.
type Drain struct {
	Machine string
	Since   time.Time
	// Deadline, when not zero, is when what is left is stopped and moved,
	// with somewhere to go or not; a forced drain's is its start.
	Deadline      time.Time
	IncludeGlobal bool
	MaxParallel   int // units moving at once
}

type drainValue struct {
	Since         time.Time `json:"since"`
	Deadline      time.Time `json:"deadline,omitzero"`
	IncludeGlobal bool      `json:"include_global,omitempty"`
	MaxParallel   int       `json:"max_parallel,omitempty"`
}

func decodeDrain(machine string, data []byte) (Drain, error) {
	var v drainValue
	if err := json.Unmarshal(data, &v); err != nil {
		return Drain{}, fmt.Errorf("drain of %s: corrupt record: %w", machine, err)
	}
	return Drain{Machine: machine, Since: v.Since, Deadline: v.Deadline, IncludeGlobal: v.IncludeGlobal, MaxParallel: v.MaxParallel}, nil
}

// SetDrain starts, or changes, the drain of a machine.
func (r *Registry) SetDrain(ctx context.Context, d Drain) error {
	v := drainValue{Since: d.Since.UTC(), IncludeGlobal: d.IncludeGlobal, MaxParallel: d.MaxParallel}
	if !d.Deadline.IsZero() {
		v.Deadline = d.Deadline.UTC()
	}
	if _, err := r.cli.Put(ctx, r.k.drain(d.Machine), mustJSON(v)); err != nil {
		return r.wrap("drain "+d.Machine, err)
	}
	return nil
}

// Undrain ends the drain of a machine; ok is false when there was none.
func (r *Registry) Undrain(ctx context.Context, machine string) (ok bool, err error) {
	resp, err := r.cli.Delete(ctx, r.k.drain(machine))
	if err != nil {
		return false, r.wrap("undrain "+machine, err)
	}
	return resp.Deleted > 0, nil
}

// StateKey names one published state: a unit on a machine.
type StateKey struct{ Machine, Unit string }

// ReadStates reads, at one revision, the states every machine of machines
// publishes and the states keys name: what drains wait on. It returns
// machine -> unit -> state.
func (r *Registry) ReadStates(ctx context.Context, machines []string, keys []StateKey) (map[string]map[string]UnitState, error) {
	out := map[string]map[string]UnitState{}
	var ops []clientv3.Op
	for _, m := range machines {
		ops = append(ops, clientv3.OpGet(r.k.machineStates(m), clientv3.WithPrefix()))
	}
	for _, k := range keys {
		ops = append(ops, clientv3.OpGet(r.k.state(k.Machine, k.Unit)))
	}
	for len(ops) > 0 {
		n := min(len(ops), r.txnOps)
		resp, err := r.cli.Txn(ctx).Then(ops[:n]...).Commit()
		if err != nil {
			return nil, r.wrap("read states", err)
		}
		ops = ops[n:]
		for _, rr := range resp.Responses {
			for _, kv := range rr.GetResponseRange().Kvs {
				st, ok, err := r.stateOf(kv)
				if err != nil {
					return nil, err
				}
				if !ok {
					continue
				}
				if out[st.Machine] == nil {
					out[st.Machine] = map[string]UnitState{}
				}
				out[st.Machine][st.Unit] = st
			}
		}
	}
	return out, nil
}

// stateOf decodes a state record; ok is false for a key that names no
// machine and unit.
func (r *Registry) stateOf(kv *mvccpb.KeyValue) (UnitState, bool, error) {
	m, u, ok := strings.Cut(strings.TrimPrefix(string(kv.Key), r.k.states()), "/")
	if !ok {
		return UnitState{}, false, nil
	}
	st, err := decodeState(m, u, kv.Value)
	return st, err == nil, err
}
