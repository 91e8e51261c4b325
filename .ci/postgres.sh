#!/usr/bin/env bash
# Start a throwaway PostgreSQL for the hub store tests on a loopback port and print its URL:
#   export STATION_TEST_POSTGRES_URL=$(.ci/postgres.sh)
# initdb refuses to run as root, so the server runs as the postgres user in a temporary directory.
set -euo pipefail
PORT=${PGPORT_TEST:-55432}
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$BIN" ] || [ ! -x "$BIN/initdb" ] || ! id postgres >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends postgresql >&2
  BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
fi
# A port nothing listens on yet (an earlier run on this machine may still hold the default one).
while (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; do PORT=$((PORT + 1)); done
DIR=$(mktemp -d /tmp/station-pg.XXXXXX)
chown postgres "$DIR"
run() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi; }
run "$BIN/initdb -D $DIR/data -U postgres -A trust --no-sync >/dev/null"
run "$BIN/pg_ctl -D $DIR/data -o '-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c fsync=off' -l $DIR/log -w start >/dev/null"
run "$BIN/createdb -h 127.0.0.1 -p $PORT -U postgres station_test"
echo "postgres://postgres@127.0.0.1:$PORT/station_test?sslmode=disable"
