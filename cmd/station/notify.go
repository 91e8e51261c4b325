package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/civic-station/station/internal/sdnotify"
)

// notifySystemd tells systemd (Type=notify units) that the station is ready — the store is open and
// HTTP listens, which Run has ensured when it returns — and then pings the watchdog for as long as the
// store answers, so that a hung station is restarted. The returned function reports STOPPING=1.
// Outside systemd it does nothing.
func notifySystemd(ctx context.Context, n *sdnotify.Notifier, ready func(context.Context) error, log *slog.Logger) (stopping func()) {
	if !n.Enabled() {
		return func() {}
	}
	if err := n.Notify(sdnotify.Ready, "STATUS=正在服务"); err != nil {
		log.Warn("systemd notification", "err", err)
	}
	interval, err := n.WatchdogInterval()
	if err != nil {
		log.Warn("systemd watchdog", "err", err)
	}
	done := make(chan struct{})
	if interval > 0 {
		go func() {
			t := time.NewTicker(interval)
			defer t.Stop()
			for {
				select {
				case <-done:
					return
				case <-ctx.Done():
					return
				case <-t.C:
					c, cancel := context.WithTimeout(ctx, interval)
					err := ready(c)
					cancel()
					if err != nil {
						// No ping: systemd restarts the station after WatchdogSec unless the store recovers.
						log.Error("store not answering; withholding the watchdog ping", "err", err)
						_ = n.Notify("STATUS=数据库无响应")
						continue
					}
					_ = n.Notify(sdnotify.Watchdog)
				}
			}
		}()
	}
	return func() {
		close(done)
		_ = n.Notify(sdnotify.Stopping)
	}
}
