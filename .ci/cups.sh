#!/usr/bin/env bash
# Sets up a CUPS print queue the IPP driver's tests can print to, on a headless machine without
# systemd (run as root): installs CUPS if missing, starts cupsd in the background on localhost:631,
# creates a raw queue that writes every job to /dev/null, and prints the queue's IPP URI on stdout
# (everything else goes to stderr). Idempotent: a second run reuses the running cupsd and the queue.
#
#   export STATION_TEST_CUPS_URI="$(.ci/cups.sh)"
#   go test ./devices/ipp/ -run CUPS
#
# Environment: CUPS_QUEUE (default StationTest).
set -euo pipefail

queue="${CUPS_QUEUE:-StationTest}"
log() { echo "cups.sh: $*" >&2; }
die() { log "$*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (installs packages and starts cupsd)"

if ! command -v cupsd >/dev/null 2>&1 || ! command -v lpadmin >/dev/null 2>&1; then
  log "installing cups-daemon and cups-client"
  export DEBIAN_FRONTEND=noninteractive
  timeout 300 apt-get update -qq >&2 || die "apt-get update failed"
  timeout 600 apt-get install -y -qq --no-install-recommends cups-daemon cups-client >&2 ||
    die "apt-get install cups-daemon cups-client failed"
fi

# The queue's device is file:///dev/null, which cupsd refuses unless FileDevice is on.
files_conf=/etc/cups/cups-files.conf
restart=no
if ! grep -qx 'FileDevice Yes' "$files_conf"; then
  echo 'FileDevice Yes' >>"$files_conf"
  restart=yes
fi

running() { lpstat -h localhost:631 -r 2>/dev/null | grep -q 'is running'; }

if running && [ "$restart" = yes ]; then
  log "restarting cupsd to pick up FileDevice"
  pid="$(cat /run/cups/cupsd.pid 2>/dev/null || true)"
  [ -n "$pid" ] || die "cupsd is running but /run/cups/cupsd.pid is missing; stop it and run again"
  kill "$pid"
  for _ in $(seq 50); do running || break; sleep 0.1; done
fi

if ! running; then
  log "starting cupsd"
  mkdir -p /run/cups
  # Without -f, cupsd forks into the background once it listens; -l would keep it in the foreground.
  cupsd -c /etc/cups/cupsd.conf -s /etc/cups/cups-files.conf ||
    die "cupsd did not start; see /var/log/cups/error_log"
  for _ in $(seq 100); do running && break; sleep 0.1; done
  running || die "cupsd is not answering on localhost:631 after 10s; see /var/log/cups/error_log"
fi

if ! lpstat -h localhost:631 -p "$queue" >/dev/null 2>&1; then
  log "creating queue $queue"
  # A raw queue (no driver): jobs go to the device unchanged. CUPS 2.4 warns that raw queues are
  # deprecated; they still work, and need no filters or Ghostscript.
  lpadmin -h localhost:631 -p "$queue" -v file:///dev/null -m raw -o printer-error-policy=abort-job 2>&1 |
    grep -v -i 'deprecated' >&2 || true
  lpstat -h localhost:631 -p "$queue" >/dev/null 2>&1 || die "lpadmin did not create $queue"
fi
cupsenable -h localhost:631 "$queue" || die "cupsenable $queue failed"
cupsaccept -h localhost:631 "$queue" || die "cupsaccept $queue failed"

echo "ipp://localhost:631/printers/$queue"
