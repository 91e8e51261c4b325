#!/bin/sh
# Runs after the station package is removed (deb: postrm remove|purge|upgrade…; rpm: %postun with $1 = 0 on
# erase, 1 on upgrade). Removing keeps the data directory, the configuration and the user: a station's
# records are not lost by removing a package. Only `dpkg --purge` (or `apt purge`) deletes them; rpm has no
# purge, so after `rpm -e` they stay until deleted by hand (packaging/README.md).
set -e
case "$1" in
    purge)
        rm -rf /var/lib/station /etc/station
        if getent passwd station >/dev/null 2>&1; then
            userdel station >/dev/null 2>&1 || true
        fi
        ;;
esac
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || true
fi
exit 0
