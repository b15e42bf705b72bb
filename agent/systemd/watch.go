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
		for {
			var name string
			select {
			case u := <-updates:
				name = u.UnitName
			case <-dropped:
				name = ""
			case <-busGone:
				return
			case <-ctx.Done():
				return
			}
			select {
			case out <- name:
			case <-busGone:
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}
