#!/bin/sh
# Runs before the station package is removed (deb: prerm remove; rpm: %preun). An upgrade keeps the
# service running: postinstall restarts it on the new binary.
set -e
case "$1" in
    remove|0)
        if [ -d /run/systemd/system ]; then
            systemctl disable --now station.service >/dev/null 2>&1 || true
        fi
        ;;
esac
exit 0
