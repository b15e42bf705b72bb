package agent_test

import (
	"context"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/flota-dev/flota/agent"
	"github.com/flota-dev/flota/clock/clocktest"
	"github.com/flota-dev/flota/engine"
	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/registry/registrytest"
	"github.com/flota-dev/flota/unit"
)

// recordBack waits, on a watch, for machine m1's record to be written
// back as it was after it was deleted at rev.
func recordBack(t *testing.T, cli *clientv3.Client, key string, was []byte, rev int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	for wr := range cli.Watch(ctx, key, clientv3.WithRev(rev+1)) {
		for _, ev := range wr.Events {
			if ev.Type == clientv3.EventTypePut && string(ev.Kv.Value) == string(was) {
				return
			}
		}
	}
	t.Fatal("machine m1's record was not written back")
}

// deleteRecord waits for m1's record and deletes it, returning what it
// was and the revision of the delete.
func deleteRecord(t *testing.T, cli *clientv3.Client, key string) ([]byte, int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	got, err := cli.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Kvs) == 0 {
		for wr := range cli.Watch(ctx, key, clientv3.WithRev(got.Header.Revision+1)) {
			if len(wr.Events) > 0 {
				break
			}
		}
		if got, err = cli.Get(ctx, key); err != nil || len(got.Kvs) == 0 {
			t.Fatalf("machine m1 never registered: %v", err)
		}
	}
	del, err := cli.Delete(ctx, key)
	if err != nil || del.Deleted != 1 {
		t.Fatalf("delete m1's record: %v %v", del, err)
	}
	return got.Kvs[0].Value, del.Header.Revision
}

// TestAgentWritesBackItsRecord: an Agent whose machine's record is
// deleted behind its back writes it back: when the Engine, finding the
// machine gone, moves its units away, and, on a machine with no units, at
// its next periodic check.
func TestAgentWritesBackItsRecord(t *testing.T) {
	eps := registrytest.Etcd(t)
	cli, err := clientv3.New(clientv3.Config{Endpoints: eps})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	key := registry.DefaultPrefix + "cluster/machines/m1"
	run := func(t *testing.T, cfg agent.Config) *agent.Agent {
		ctx, cancel := context.WithCancel(t.Context())
		a := agent.New(registrytest.Registry(t, eps), cfg, quiet())
		done := make(chan error, 1)
		go func() { done <- a.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
		return a
	}
	t.Run("when its units leave", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		reg := registrytest.Registry(t, eps)
		a := run(t, agent.Config{MachineID: "m1", PublicIP: "127.0.0.1", TTL: 5 * time.Second, RecordCheck: -1})
		eng := engine.New(registrytest.Registry(t, eps), engine.Config{ID: "e1", LeaderTTL: time.Second}, quiet())
		go func() { _ = eng.Run(ctx) }()
		f, err := unit.Parse("rec.service", []byte("[Service]\nExecStart=/bin/true\n"))
		if err != nil {
			t.Fatal(err)
		}
		if err := reg.CreateUnits(ctx, []*unit.File{f}, registry.StateLaunched); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = reg.DestroyUnits(context.WithoutCancel(ctx), []string{"rec.service"}) })
		waitPlacements(t, a, "rec.service placed on m1", func(ps map[string]registry.Placement) bool { return len(ps) == 1 })
		// A machine to move it to: the Engine keeps the units of a machine
		// gone where they are while no other can have them.
		b := run(t, agent.Config{MachineID: "m2", PublicIP: "127.0.0.2", TTL: 5 * time.Second, RecordCheck: -1})
		was, rev := deleteRecord(t, cli, key)
		waitPlacements(t, b, "rec.service moved to m2", func(ps map[string]registry.Placement) bool { return len(ps) == 1 })
		recordBack(t, cli, key, was, rev)
	})
	t.Run("at its periodic check", func(t *testing.T) {
		clk := clocktest.New(time.Unix(1e9, 0))
		armed := clk.Armed()
		run(t, agent.Config{MachineID: "m1", PublicIP: "127.0.0.1", TTL: 5 * time.Second, RecordCheck: time.Minute, Clock: clk})
		<-armed
		was, rev := deleteRecord(t, cli, key)
		clk.Advance(time.Minute)
		recordBack(t, cli, key, was, rev)
	})
}
