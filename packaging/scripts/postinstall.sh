#!/bin/sh
# Runs after the station package is installed or upgraded (deb: postinst configure; rpm: %post with $1 = 1 on
# install, 2 on upgrade). Both do the same: the steps below keep what is already there.
set -e

# The user, the device groups, the data directory (0700) and a configuration file when there is none.
# The same code as `station service install`, without the unit (the package ships it).
station service install --no-unit

if command -v udevadm >/dev/null 2>&1; then
    udevadm control --reload-rules >/dev/null 2>&1 || true
    udevadm trigger --subsystem-match=tty >/dev/null 2>&1 || true
fi

if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || true
    systemctl enable station.service >/dev/null 2>&1 || true
    # An upgrade restarts the running service once; a first install starts it.
    systemctl restart station.service >/dev/null 2>&1 || true
fi
exit 0
