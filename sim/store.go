package sim

import (
	"context"
	"sync"
	"time"

	"github.com/flota-dev/flota/agent"
	"github.com/flota-dev/flota/registry"
)

// store is a machine's agent.Store: the shared registry, with its
// registrations counted (a second one means the first was lost) and
// bounded in number across the fleet.
type store struct {
	agent.Store
	fleet *Fleet

	mu   sync.Mutex
	n    int  // successful registrations
	held bool // Fleet.Run took a registration slot for the first one
}

// hold records that the next registration's slot is taken already.
func (s *store) hold() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.held = true
}

var _ agent.Store = (*store)(nil)

func (s *store) Register(ctx context.Context, m registry.Machine, ttl time.Duration) (*registry.Presence, error) {
	s.mu.Lock()
	held := s.held
	s.held = false
	s.mu.Unlock()
	if !held {
		select {
		case s.fleet.slots <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	p, err := s.Store.Register(ctx, m, ttl)
	<-s.fleet.slots
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.n++
	first := s.n == 1
	s.mu.Unlock()
	if first {
		s.fleet.registeredOnce()
	}
	return p, nil
}

func (s *store) registrations() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}
