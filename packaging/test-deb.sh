#!/usr/bin/env bash
# Installs the station .deb on this machine with dpkg, checks what it put there, runs station doctor,
# removes it (the data stays), and purges it (the data goes). It changes the machine: it runs only as
# root and when CI=true or STATION_TEST_PACKAGE=1, and refuses if a station package or user exists.
#
#   packaging/test-deb.sh bin/dist/station_…_amd64.deb [bin/dist/station_…newer…_amd64.deb]
#
# With a second, newer package it also upgrades to it in place: data, database, configuration and CA
# stay, and the upgraded station starts on them.
#
# Prints "N passed, M failed" as its last line.
set -uo pipefail
deb="${1:?usage: test-deb.sh PACKAGE.deb [NEWER.deb]}"
newer="${2:-}"
if [ "$(id -u)" -ne 0 ] || { [ "${CI:-}" != "true" ] && [ "${STATION_TEST_PACKAGE:-}" != "1" ]; }; then
  echo "test-deb.sh: skipped (needs root and CI=true or STATION_TEST_PACKAGE=1: it installs a package)"
  echo "0 passed, 0 failed, 1 skipped"
  exit 0
fi
if dpkg -s station >/dev/null 2>&1 || getent passwd station >/dev/null; then
  echo "test-deb.sh: a station package or user is already on this machine; not touching it" >&2
  exit 1
fi
passed=0 failed=0
check() { # check "what" command...
  local what="$1"; shift
  if "$@" >/tmp/test-deb.out 2>&1; then passed=$((passed + 1)); echo "ok   $what"
  else failed=$((failed + 1)); echo "FAIL $what"; sed 's/^/     /' /tmp/test-deb.out | head -20; fi
}
mode_is() { [ "$(stat -c %a "$1")" = "$2" ]; }
owner_is() { [ "$(stat -c %U "$1")" = "$2" ]; }
cleanup() { dpkg --purge station >/dev/null 2>&1 || true; }
trap cleanup EXIT

if command -v lintian >/dev/null; then
  check "lintian reports no errors" bash -c "! lintian --tag-display-limit 0 '$deb' 2>/dev/null | grep '^E:'"
fi
check "dpkg -i installs the package" dpkg -i "$deb"
check "the binary runs" /usr/bin/station version
check "the unit is installed" test -f /usr/lib/systemd/system/station.service
check "the unit is the one station service install writes" grep -qx 'ExecStart=/usr/bin/station run --config /etc/station/station.toml' /usr/lib/systemd/system/station.service
check "the udev rules are installed" test -f /usr/lib/udev/rules.d/61-station.rules
check "the station user exists without a login shell" bash -c "getent passwd station | grep -q nologin"
for g in dialout lp video; do
  if getent group "$g" >/dev/null; then
    check "station is in group $g" bash -c "id -nG station | tr ' ' '\n' | grep -qx $g"
  fi
done
check "the data directory is 0700 and owned by station" bash -c "mode_is() { [ \"\$(stat -c %a \"\$1\")\" = \"\$2\" ]; }; mode_is /var/lib/station 700 && [ \"\$(stat -c %U /var/lib/station)\" = station ]"
check "a config file was written, mode 640, group station" bash -c "[ \"\$(stat -c %a /etc/station/station.toml)\" = 640 ] && [ \"\$(stat -c %G /etc/station/station.toml)\" = station ]"
check "station config check accepts it" /usr/bin/station config check
check "the config serves plain HTTP on loopback and HTTPS on the LAN" bash -c "grep -qx 'listen = \"127.0.0.1:8080\"' /etc/station/station.toml && grep -qx 'listen-https = \":8443\"' /etc/station/station.toml"
# The station run by hand as its user, then doctor: the store, key, audit, web and HTTPS checks pass.
runuser -u station -- /usr/bin/station run --config /etc/station/station.toml --listen 127.0.0.1:18080 --listen-https 127.0.0.1:18443 >/tmp/test-deb-run.log 2>&1 &
pid=$!
for _ in $(seq 1 100); do curl -fs http://127.0.0.1:18080/readyz >/dev/null 2>&1 && break; sleep 0.1; done
ca=/var/lib/station/tls/ca.crt
check "the station CA was created, its keys 0600 and owned by station" bash -c "test -f $ca && for k in ca.key server.key; do [ \"\$(stat -c %a /var/lib/station/tls/\$k)\" = 600 ] && [ \"\$(stat -c %U /var/lib/station/tls/\$k)\" = station ] || exit 1; done"
check "HTTPS answers with a certificate from the station CA, with HSTS" bash -c "curl -fsS --cacert $ca -D - -o /dev/null https://127.0.0.1:18443/readyz | grep -qi '^strict-transport-security: max-age=31536000'"
check "HTTPS is refused by a client that lacks the station CA" bash -c "! curl -fs -o /dev/null https://127.0.0.1:18443/readyz"
command -v openssl >/dev/null && check "the setup page gives out the same CA (DER)" bash -c "curl -fsS --cacert $ca https://127.0.0.1:18443/api/v1/setup/ca.crt | cmp - <(openssl x509 -in $ca -outform DER)"
check "plain HTTP on the LAN is refused" bash -c "out=\$(runuser -u station -- /usr/bin/station run --config /etc/station/station.toml --listen 0.0.0.0:18081 2>&1); [ \$? -eq 1 ] && grep -q 'listen-https' <<<\"\$out\""
echo "pretend records" | runuser -u station -- tee /var/lib/station/keep-me >/dev/null
check "station doctor: the data directory, key, database, audit, web and HTTPS checks pass" bash -c \
  "STATION_LISTEN=127.0.0.1:18080 STATION_LISTEN_HTTPS=127.0.0.1:18443 /usr/bin/station doctor > /tmp/doctor.txt; cat /tmp/doctor.txt; for c in 数据目录 数据密钥 数据库 审计日志 网页服务 'HTTPS 证书' 'HTTPS 服务'; do grep -q \"^✓ \$c：\" /tmp/doctor.txt || exit 1; done"
command -v openssl >/dev/null && check "station tls show prints the CA's fingerprint" bash -c "/usr/bin/station tls show | grep -q \"\$(openssl x509 -in $ca -noout -fingerprint -sha256 | cut -d= -f2)\""
kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
check "the key file is 0600" bash -c "[ \"\$(stat -c %a /var/lib/station/datakey)\" = 600 ]"
if [ -n "$newer" ]; then
  before=$(sha256sum /etc/station/station.toml /var/lib/station/datakey /var/lib/station/tls/ca.crt /var/lib/station/keep-me)
  check "dpkg -i of a newer package upgrades in place" dpkg -i "$newer"
  check "the upgrade is the newer version" bash -c "[ \"\$(dpkg-query -W -f '\${Version}' station)\" = \"\$(dpkg-deb -f '$newer' Version)\" ]"
  check "the upgrade keeps the configuration, the data key, the CA and the data" bash -c "[ \"\$(sha256sum /etc/station/station.toml /var/lib/station/datakey /var/lib/station/tls/ca.crt /var/lib/station/keep-me)\" = '$before' ]"
  check "the upgrade keeps the data directory's owner and mode" bash -c "[ \"\$(stat -c %a:%U /var/lib/station)\" = 700:station ]"
  runuser -u station -- /usr/bin/station run --config /etc/station/station.toml --listen 127.0.0.1:18080 --listen-https 127.0.0.1:18443 >/tmp/test-deb-run2.log 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do curl -fs http://127.0.0.1:18080/readyz >/dev/null 2>&1 && break; sleep 0.1; done
  check "the upgraded station starts on the same data directory" curl -fs http://127.0.0.1:18080/readyz
  check "the audit chain still verifies after the upgrade" runuser -u station -- /usr/bin/station audit verify --data /var/lib/station
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
fi
check "dpkg -r removes the package" dpkg -r station
check "remove keeps the data directory" test -f /var/lib/station/keep-me
check "remove keeps the database" test -f /var/lib/station/station.db
check "remove keeps the configuration" test -f /etc/station/station.toml
check "remove takes the binary" test ! -e /usr/bin/station
check "dpkg --purge purges it" dpkg --purge station
check "purge deletes the data directory" test ! -e /var/lib/station
check "purge deletes the configuration" test ! -e /etc/station
check "purge deletes the user" bash -c "! getent passwd station"
trap - EXIT
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
