package registry_test

import (
	"context"
	"errors"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/flota-dev/flota/registry"
	"github.com/flota-dev/flota/registry/registrytest"
)

// TestCampaignChecksOwnKey: a candidate whose session lease etcd revokes
// while it waits (as etcd does with every lease it finds expired after a
// stall) must not report leading when the leader before it goes: its own
// key is gone. concurrency.Election.Campaign alone reports leading then.
func TestCampaignChecksOwnKey(t *testing.T) {
	ctx := ctxT(t)
	eps := registrytest.Etcd(t)
	r := registrytest.Registry(t, eps)
	a, err := r.Campaign(ctx, "a", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		l, err := r.Campaign(ctx, "b", 5*time.Second)
		if err == nil {
			_ = l.Resign(ctx)
		}
		got <- err
	}()
	raw, err := clientv3.New(clientv3.Config{Endpoints: eps, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	// b's key lands from another goroutine: watch for it.
	var bLease int64
	wctx, stopWatch := context.WithTimeout(ctx, 10*time.Second)
	defer stopWatch()
	resp, err := raw.Get(wctx, r.Prefix()+"leader/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range resp.Kvs {
		if string(kv.Value) == "b" {
			bLease = kv.Lease
		}
	}
	if bLease == 0 {
		for wr := range raw.Watch(wctx, r.Prefix()+"leader/", clientv3.WithPrefix(), clientv3.WithRev(resp.Header.Revision+1)) {
			for _, ev := range wr.Events {
				if string(ev.Kv.Value) == "b" {
					bLease = ev.Kv.Lease
				}
			}
			if bLease != 0 {
				break
			}
		}
	}
	if bLease == 0 {
		t.Fatal("b never put its election key")
	}
	if _, err := raw.Revoke(ctx, clientv3.LeaseID(bLease)); err != nil {
		t.Fatal(err)
	}
	if err := a.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-got:
		if !errors.Is(err, registry.ErrNotLeader) {
			t.Fatalf("b's campaign after its key was revoked: err %v, want ErrNotLeader", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("b's campaign did not return after a resigned")
	}
	// A campaign on a live session still leads.
	c, err := r.Campaign(ctx, "c", 5*time.Second)
	if err != nil {
		t.Fatalf("a fresh campaign: %v", err)
	}
	_ = c.Resign(ctx)
}
