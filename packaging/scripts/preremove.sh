#!/bin/sh
# Runs before the station package is removed (deb: prerm remove; rpm: %preun with $1 = 0 on erase). Only a
# removal stops and disables the service. An upgrade (deb: prerm upgrade; rpm: the old package's %preun with
# $1 = 1, after the new package's %post) keeps it running: postinstall restarts it on the new binary.
set -e
case "$1" in
    remove|0)
        if [ -d /run/systemd/system ]; then
            systemctl disable --now station.service >/dev/null 2>&1 || true
        fi
        ;;
esac
exit 0
