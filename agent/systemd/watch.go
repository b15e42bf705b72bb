package systemd

import (
	"context"
	"errors"

	sd "github.com/coreos/go-systemd/v22/dbus"
)

// Watch subscribes to systemd's signals and reports the names of units
// whose properties changed (PropertiesChanged on org.freedesktop.systemd1.Unit
// carries them: no call per signal, no polling). When go-systemd had to drop
// updates because we were slow, it reports "" once: refresh everything.
func (c *Conn) Watch(ctx context.Context) (<-chan string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.watching {
		return nil, errors.New("systemd: Watch called twice on one connection")
	}
	if err := c.sd.Subscribe(); err != nil {
		return nil, err
	}
	c.watching = true
	updates := make(chan *sd.PropertiesUpdate, 1024)
	dropped := make(chan error, 1)
	c.sd.SetPropertiesSubscriber(updates, dropped)
	out := make(chan string)
	go func() {
		defer close(out)
		defer c.sd.SetPropertiesSubscriber(nil, nil)
		busGone := c.sig.Context().Done()
		// Names wait here, each once, while the agent is busy: the
		// subscription is always drained, so a burst of signals (500 units
		// starting) never fills go-systemd's channel, which it reports by
		// logging on every further signal.
		pending := map[string]bool{}
		lost := false
		for {
			var send chan<- string
			next := ""
			switch {
			case lost:
				send = out // "" says: updates were lost, look at everything
			case len(pending) > 0:
				send = out
				for n := range pending {
					next = n
					break
				}
			}
			select {
			case u := <-updates:
				pending[u.UnitName] = true
			case <-dropped:
				lost = true
			case send <- next:
				if next == "" {
					lost = false
					clear(pending)
				} else {
					delete(pending, next)
				}
			case <-busGone:
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}
