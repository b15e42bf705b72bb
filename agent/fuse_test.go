package agent

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/flota-dev/flota/clock/clocktest"
)

// fenceLog records what the fuse asked of the fence.
type fenceLog struct {
	mu  sync.Mutex
	got []bool
	ch  chan bool
}

func (l *fenceLog) set(_ context.Context, on bool) {
	l.mu.Lock()
	l.got = append(l.got, on)
	l.mu.Unlock()
	l.ch <- on
}

func (l *fenceLog) next(t *testing.T) bool {
	t.Helper()
	select {
	case on := <-l.ch:
		return on
	case <-time.After(5 * time.Second):
		t.Fatal("the fuse did nothing")
		return false
	}
}

// quiet checks that the fuse does nothing for a while: a negative can only
// be watched for a time.
func (l *fenceLog) quiet(t *testing.T) {
	t.Helper()
	select {
	case on := <-l.ch:
		t.Fatalf("the fuse set the fence to %v", on)
	case <-time.After(200 * time.Millisecond):
	}
}

func TestFuse(t *testing.T) {
	const ttl, lead = 5 * time.Second, time.Second
	start := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	setup := func(t *testing.T) (*fuse, *clocktest.Fake, *fenceLog) {
		clk := clocktest.New(start)
		log := &fenceLog{ch: make(chan bool, 4)}
		f := newFuse(clk, ttl, lead, log.set)
		armed := clk.Armed()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); f.run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
		<-armed
		return f, clk, log
	}
	t.Run("blows TTL less lead after the last answer, not before", func(t *testing.T) {
		f, clk, log := setup(t)
		armed := clk.Armed()
		f.renew(start.Add(2*time.Second), true)
		<-armed
		clk.Advance(5*time.Second + 999*time.Millisecond) // 3.999 s after the answer
		log.quiet(t)
		clk.Advance(time.Millisecond)
		if !log.next(t) {
			t.Fatal("the fuse lowered the fence instead of raising it")
		}
	})
	t.Run("blows from the agent's start when it never registers", func(t *testing.T) {
		_, clk, log := setup(t)
		clk.Advance(ttl - lead)
		if !log.next(t) {
			t.Fatal("want the fence raised")
		}
	})
	t.Run("an answer of the same lease lowers it", func(t *testing.T) {
		f, clk, log := setup(t)
		clk.Advance(ttl - lead)
		log.next(t)
		f.renew(clk.Now(), true)
		if log.next(t) {
			t.Fatal("want the fence lowered")
		}
	})
	t.Run("a new lease alone does not lower it: its Placements must be read first", func(t *testing.T) {
		f, clk, log := setup(t)
		clk.Advance(ttl - lead)
		log.next(t)
		armed := clk.Armed()
		f.renew(clk.Now(), false) // the new lease's grant
		select {
		case on := <-log.ch:
			t.Fatalf("the fence went to %v on a grant", on)
		case <-armed:
			t.Fatal("a raised fence waits on no clock")
		case <-time.After(200 * time.Millisecond): // it waits for a lowering only
		}
		f.renew(time.Time{}, true) // Placements read
		if log.next(t) {
			t.Fatal("want the fence lowered")
		}
	})
	t.Run("a lowering asked too late does not lower it", func(t *testing.T) {
		f, clk, log := setup(t)
		clk.Advance(ttl)
		log.next(t)
		f.renew(time.Time{}, true) // no new answer: the lease is as good as gone
		select {
		case on := <-log.ch:
			t.Fatalf("the fence went to %v without a new answer", on)
		case <-time.After(200 * time.Millisecond):
		}
	})
}

// TestFuseCountsFromItsRun: an Agent made well before it runs (the
// simulator makes thousands at once and starts each as it may register)
// has heard nothing from etcd because it asked nothing yet: its fuse
// counts from its run, not from its making.
func TestFuseCountsFromItsRun(t *testing.T) {
	const ttl, lead = 5 * time.Second, time.Second
	start := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	clk := clocktest.New(start)
	log := &fenceLog{ch: make(chan bool, 4)}
	f := newFuse(clk, ttl, lead, log.set)
	clk.Advance(ttl) // made, then left waiting for longer than the lease
	armed := clk.Armed()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); f.run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-armed:
	case on := <-log.ch:
		t.Fatalf("the fuse set the fence to %v as it began", on)
	}
	log.quiet(t)
	clk.Advance(ttl - lead - time.Millisecond)
	log.quiet(t)
	clk.Advance(time.Millisecond)
	if !log.next(t) {
		t.Fatal("want the fence raised TTL less lead after the run began")
	}
}

// TestFusePeeks: an answer read off the stream but not yet handed over
// (a process short of CPU took seconds to) keeps the fuse from blowing;
// with none newer, it blows as due.
func TestFusePeeks(t *testing.T) {
	const ttl, lead = 5 * time.Second, time.Second
	start := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	clk := clocktest.New(start)
	log := &fenceLog{ch: make(chan bool, 4)}
	f := newFuse(clk, ttl, lead, log.set)
	var mu sync.Mutex
	read := start.Add(3 * time.Second) // an answer read 3 s in, not yet renewed
	f.follow(func() time.Time { mu.Lock(); defer mu.Unlock(); return read })
	armed := clk.Armed()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); f.run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	<-armed
	armed = clk.Armed()
	clk.Advance(ttl - lead) // due from the start: it peeks, and waits on
	select {
	case <-armed:
	case on := <-log.ch:
		t.Fatalf("the fuse set the fence to %v with a newer answer read", on)
	}
	log.quiet(t)
	clk.Advance(3*time.Second - time.Millisecond) // 3.999 s after the answer read
	log.quiet(t)
	clk.Advance(time.Millisecond)
	if !log.next(t) {
		t.Fatal("want the fence raised TTL less lead after the answer read")
	}
}
