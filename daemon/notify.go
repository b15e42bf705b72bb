package daemon

import (
	"context"
	"log/slog"
	"time"

	sddaemon "github.com/coreos/go-systemd/v22/daemon"
)

// notify tells systemd (a Type=notify unit) that flotad is ready once
// ready is closed, and, when the unit has WatchdogSec=, pings the
// watchdog at half its interval for as long as flotad runs. Outside a
// notify unit (no $NOTIFY_SOCKET) it does nothing.
func notify(ctx context.Context, ready <-chan struct{}, log *slog.Logger) error {
	select {
	case <-ready:
	case <-ctx.Done():
		return nil
	}
	if sent, err := sddaemon.SdNotify(false, sddaemon.SdNotifyReady); err != nil {
		log.Warn("tell systemd flotad is ready", "err", err)
	} else if sent {
		log.Debug("told systemd flotad is ready")
	}
	every, err := sddaemon.SdWatchdogEnabled(false)
	if err != nil || every <= 0 {
		<-ctx.Done()
		return nil
	}
	t := time.NewTicker(every / 2)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			_, _ = sddaemon.SdNotify(false, sddaemon.SdNotifyWatchdog)
		case <-ctx.Done():
			return nil
		}
	}
}
