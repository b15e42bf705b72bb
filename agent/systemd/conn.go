package systemd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	sd "github.com/coreos/go-systemd/v22/dbus"
	godbus "github.com/godbus/dbus/v5"

	"github.com/flota-dev/flota/agent"
)

// DefaultDir is where the Agent keeps its unit files unless told otherwise.
const DefaultDir = "/run/flota/units"

// ErrUnavailable classifies a bus that cannot be reached.
var ErrUnavailable = errors.New("systemd's D-Bus unavailable")

// Config says where the Agent's unit files live.
type Config struct {
	// Dir is the unit directory as systemd sees it (default DefaultDir).
	Dir string
	// Root prefixes Dir for the file I/O of this process: "" on the machine
	// itself, "/proc/PID/root" to reach a test machine's files from its host.
	Root string
}

// Conn is the Agent's connection to one systemd.
type Conn struct {
	sd      *sd.Conn
	address string // the bus, for Watch's connection of its own
	dir     string // the unit directory, as systemd sees it
	root    string // where this process sees systemd's "/"
	hostDir string // the unit directory, as this process sees it

	mu         sync.Mutex
	watch      *godbus.Conn                 // Watch's signal connection, once watching
	byPath     map[godbus.ObjectPath]string // unit object path -> name, for the names this Conn has seen
	searchPath []string                     // systemd's UnitPath, once read (foreign.go)
}

var _ agent.Systemd = (*Conn)(nil)

// SystemBus is the address of the system bus: $DBUS_SYSTEM_BUS_ADDRESS or
// the usual socket.
func SystemBus() string {
	if a := os.Getenv("DBUS_SYSTEM_BUS_ADDRESS"); a != "" {
		return a
	}
	return "unix:path=/run/dbus/system_bus_socket"
}

// Connect connects to systemd over the bus at address (SystemBus() when "").
func Connect(ctx context.Context, address string, cfg Config) (*Conn, error) {
	if address == "" {
		address = SystemBus()
	}
	if cfg.Dir == "" {
		cfg.Dir = DefaultDir
	}
	if !filepath.IsAbs(cfg.Dir) {
		return nil, fmt.Errorf("unit directory %q: want an absolute path", cfg.Dir)
	}
	c, err := sd.NewConnection(func() (*godbus.Conn, error) { return dial(ctx, address) })
	if err != nil {
		return nil, fmt.Errorf("connect to systemd on %s: %w: %w", address, ErrUnavailable, err)
	}
	conn := &Conn{sd: c, address: address, dir: cfg.Dir, root: cfg.Root, hostDir: filepath.Join(cfg.Root, cfg.Dir),
		byPath: map[godbus.ObjectPath]string{}}
	// One cheap call proves that systemd answers on this bus, not only a
	// dbus-daemon.
	if _, err := c.ListUnitsByNamesContext(ctx, []string{"-.mount"}); err != nil {
		c.Close()
		return nil, fmt.Errorf("connect to systemd on %s: %w: %w", address, ErrUnavailable, err)
	}
	return conn, nil
}

func dial(ctx context.Context, address string) (*godbus.Conn, error) {
	bc, err := godbus.Dial(address)
	if err != nil {
		return nil, err
	}
	// Auth and Hello block on a peer that does not answer; ctx bounds them.
	stop := context.AfterFunc(ctx, func() { bc.Close() })
	defer stop()
	if err := bc.Auth(nil); err != nil {
		bc.Close()
		return nil, err
	}
	if err := bc.Hello(); err != nil {
		bc.Close()
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return bc, nil
}

// Close ends the connection, and Watch's.
func (c *Conn) Close() {
	c.sd.Close()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.watch != nil {
		c.watch.Close()
	}
}

// remember records the object paths of names, so Watch can tell which unit
// a signal is about.
func (c *Conn) remember(names ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range names {
		c.byPath[godbus.ObjectPath("/org/freedesktop/systemd1/unit/"+sd.PathBusEscape(n))] = n
	}
}

func (c *Conn) nameOf(p godbus.ObjectPath) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.byPath[p]
}

// Reload is systemctl daemon-reload.
func (c *Conn) Reload(ctx context.Context) error {
	if err := c.sd.ReloadContext(ctx); err != nil {
		return fmt.Errorf("daemon-reload: %w", err)
	}
	return nil
}

// Start starts name and waits for its job.
func (c *Conn) Start(ctx context.Context, name string) error {
	return c.job(ctx, "start", name, c.sd.StartUnitContext)
}

// Stop stops name and waits for its job; a unit systemd does not know is
// stopped already.
func (c *Conn) Stop(ctx context.Context, name string) error {
	err := c.job(ctx, "stop", name, c.sd.StopUnitContext)
	if isNoSuchUnit(err) {
		return nil
	}
	return err
}

func (c *Conn) job(ctx context.Context, verb, name string, enqueue func(context.Context, string, string, chan<- string) (int, error)) error {
	// Buffered: go-systemd delivers results from its signal goroutine and
	// would block it if we stopped listening (ctx ended).
	done := make(chan string, 1)
	if _, err := enqueue(ctx, name, "replace", done); err != nil {
		return fmt.Errorf("%s %s: %w", verb, name, err)
	}
	select {
	case result := <-done:
		if result != "done" && result != "skipped" {
			return fmt.Errorf("%s %s: job %s: %w", verb, name, result, agent.ErrJobFailed)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s %s: %w", verb, name, ctx.Err())
	}
}

// Enable applies the [Install] section of name's file, runtime only.
func (c *Conn) Enable(ctx context.Context, name string) error {
	if _, _, err := c.sd.EnableUnitFilesContext(ctx, []string{filepath.Join(c.dir, name)}, true, true); err != nil {
		return fmt.Errorf("enable %s: %w", name, err)
	}
	return nil
}

// Units reports systemd's view of names in one call.
func (c *Conn) Units(ctx context.Context, names []string) (map[string]agent.UnitStatus, error) {
	c.remember(names...)
	list, err := c.sd.ListUnitsByNamesContext(ctx, names)
	if err != nil {
		return nil, fmt.Errorf("list %d units: %w", len(names), err)
	}
	out := make(map[string]agent.UnitStatus, len(list))
	for _, u := range list {
		out[u.Name] = agent.UnitStatus{Load: u.LoadState, Active: u.ActiveState, Sub: u.SubState}
	}
	return out, nil
}

// Load has systemd load names it does not hold, in one call:
// ListUnitsByNames loads each name as LoadUnit does (manager_load_unit:
// a unit never loaded is read from its file; one held as not-found is
// looked up again when the unit directories changed), then reports it.
func (c *Conn) Load(ctx context.Context, names []string) (map[string]agent.UnitStatus, error) {
	st, err := c.Units(ctx, names)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	return st, nil
}

// NeedReload reads each unit's NeedDaemonReload, one call a unit.
func (c *Conn) NeedReload(ctx context.Context, names []string) (map[string]bool, error) {
	out := make(map[string]bool, len(names))
	for _, n := range names {
		p, err := c.sd.GetUnitPropertyContext(ctx, n, "NeedDaemonReload")
		if err != nil {
			return nil, fmt.Errorf("NeedDaemonReload of %s: %w", n, err)
		}
		need, ok := p.Value.Value().(bool)
		if !ok {
			return nil, fmt.Errorf("NeedDaemonReload of %s: %s is not a boolean", n, p.Value)
		}
		out[n] = need
	}
	return out, nil
}

// isNoSuchUnit reports systemd's answer about a unit it has not loaded.
func isNoSuchUnit(err error) bool {
	var e godbus.Error
	return errors.As(err, &e) && (e.Name == "org.freedesktop.systemd1.NoSuchUnit" || e.Name == "org.freedesktop.systemd1.NoSuchUnitFile")
}
