package systemd

import (
	"context"
	"errors"
	"fmt"

	godbus "github.com/godbus/dbus/v5"
)

const (
	unitInterface  = "org.freedesktop.systemd1.Unit"
	propsChanged   = "org.freedesktop.DBus.Properties.PropertiesChanged"
	unitPathPrefix = "/org/freedesktop/systemd1/unit"
)

// Watch subscribes to systemd's signals and reports the names of this
// Conn's units (those it wrote or listed) whose properties changed:
// PropertiesChanged on org.freedesktop.systemd1.Unit, no call per signal,
// no polling.
//
// It listens on a D-Bus connection of its own rather than through
// go-systemd's subscriber, whose dispatcher reads the subscriber it is given
// without the lock that setting it takes (a data race the race detector
// reports); godbus, which go-systemd is built on, delivers the signals.
func (c *Conn) Watch(ctx context.Context) (<-chan string, error) {
	c.mu.Lock()
	if c.watch != nil {
		c.mu.Unlock()
		return nil, errors.New("systemd: Watch called twice on one connection")
	}
	wc, err := dial(ctx, c.address)
	if err != nil {
		c.mu.Unlock()
		return nil, fmt.Errorf("watch systemd on %s: %w: %w", c.address, ErrUnavailable, err)
	}
	c.watch = wc
	c.mu.Unlock()

	signals := make(chan *godbus.Signal, 1024)
	wc.Signal(signals)
	err = wc.AddMatchSignalContext(ctx,
		godbus.WithMatchInterface("org.freedesktop.DBus.Properties"),
		godbus.WithMatchMember("PropertiesChanged"),
		godbus.WithMatchPathNamespace(unitPathPrefix))
	if err == nil {
		// systemd emits unit signals only while some client subscribed.
		err = wc.Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1").
			CallWithContext(ctx, "org.freedesktop.systemd1.Manager.Subscribe", 0).Err
	}
	if err != nil {
		wc.Close()
		return nil, fmt.Errorf("watch systemd on %s: %w", c.address, err)
	}

	out := make(chan string)
	go func() {
		defer close(out)
		defer wc.Close()
		busGone := wc.Context().Done()
		// Names wait here, each once, while the agent is busy: signals are
		// always drained, so a burst (500 units starting) costs one name
		// each, not a queue of thousands.
		pending := map[string]bool{}
		for {
			var send chan<- string
			next := ""
			for n := range pending {
				send, next = out, n
				break
			}
			select {
			case sig, ok := <-signals:
				if !ok {
					return
				}
				if name := c.unitOf(sig); name != "" {
					pending[name] = true
				}
			case send <- next:
				delete(pending, next)
			case <-busGone:
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// unitOf names the unit a signal is about, if it is one of this Conn's.
func (c *Conn) unitOf(sig *godbus.Signal) string {
	if sig.Name != propsChanged || len(sig.Body) == 0 {
		return ""
	}
	if iface, _ := sig.Body[0].(string); iface != unitInterface {
		return ""
	}
	return c.nameOf(sig.Path)
}
