#!/usr/bin/env bash
# Installs the station package on this machine — the .deb with dpkg or the .rpm with rpm — checks what it
# put there, runs the station as its user and station doctor, upgrades it in place to a newer package,
# removes it (the data, the configuration and the user stay) and deletes what removal keeps (`dpkg
# --purge`; rpm has no purge: the commands packaging/README.md gives). Both formats run the same checks;
# only the package manager's steps (install, upgrade, remove, purge, its database, lintian or rpm -qip)
# differ. It changes the machine: it runs only as root and when CI=true or STATION_TEST_PACKAGE=1, and
# refuses if a station package (in the dpkg or the rpm database), user, data directory or configuration
# is already there.
#
#   packaging/test-package.sh deb bin/dist/station_…_amd64.deb [bin/dist/station_…newer…_amd64.deb]
#   packaging/test-package.sh rpm bin/dist/station-….x86_64.rpm [bin/dist/station-…newer….x86_64.rpm]
#
# With a second, newer package it also upgrades to it in place: data, database, configuration, CA and
# user stay, and the upgraded station starts on them.
#
# Prints "N passed, M failed" as its last line.
set -uo pipefail
usage="usage: test-package.sh deb|rpm PACKAGE [NEWER]"
fmt="${1:?$usage}"
pkg="${2:?$usage}"
newer="${3:-}"
case "$fmt" in deb | rpm) ;; *) echo "$usage" >&2; exit 2 ;; esac
here="$(cd "$(dirname "$0")" && pwd)"
if [ "$(id -u)" -ne 0 ] || { [ "${CI:-}" != "true" ] && [ "${STATION_TEST_PACKAGE:-}" != "1" ]; }; then
  echo "test-package.sh $fmt: skipped (needs root and CI=true or STATION_TEST_PACKAGE=1: it installs a package)"
  echo "0 passed, 0 failed, 1 skipped"
  exit 0
fi
case "$fmt" in
  deb) tools="dpkg dpkg-deb dpkg-query" ;;
  rpm) tools="rpm" ;; # Debian: apt-get install rpm
esac
for t in $tools curl runuser; do
  command -v "$t" >/dev/null || { echo "test-package.sh $fmt: $t is not installed" >&2; exit 1; }
done
if { command -v dpkg >/dev/null && dpkg -s station >/dev/null 2>&1; } ||
  { command -v rpm >/dev/null && rpm -q station >/dev/null 2>&1; } ||
  getent passwd station >/dev/null || getent group station >/dev/null ||
  [ -e /var/lib/station ] || [ -e /etc/station ]; then
  echo "test-package.sh $fmt: a station package, user, data directory or configuration is already on this machine; not touching it" >&2
  exit 1
fi
work="$(mktemp -d /tmp/test-package-"$fmt".XXXXXX)"
passed=0 failed=0
check() { # check "what" command...
  local what="$1"; shift
  if "$@" >"$work/out" 2>&1; then passed=$((passed + 1)); echo "ok   $fmt: $what"
  else failed=$((failed + 1)); echo "FAIL $fmt: $what"; sed 's/^/     /' "$work/out" | head -20; fi
}

# ---- The package manager's steps: one set of functions per format; everything below them is shared. ----
# pm_install/pm_upgrade/pm_remove/pm_purge FILE  what dpkg or rpm does (pm_purge: what deletes the rest)
# pm_installed_version                          the installed station's version in the database, one line per package
# pkg_version FILE                              the package file's version, as the database writes it
# pm_known                                      the database lists station in any state
# pm_verify                                     the installed files match the database
# pkg_script FILE postinstall|preremove|postremove   the maintainer script in the package
# pkg_files FILE                                the package's regular files (absolute paths)
# seq_install, seq_upgrade, seq_remove, seq_purge: the scripts the manager runs, and their arguments
#   (old/new: the scripts of the old/new package), "|" between runs.
case "$fmt" in
  deb)
    pm_install_cmd="dpkg -i" pm_upgrade_cmd="dpkg -i" pm_remove_cmd="dpkg -r" pm_purge_cmd="dpkg --purge"
    pm_install() { dpkg -i "$1"; }
    pm_upgrade() { dpkg -i "$1"; }
    pm_remove() { dpkg -r station; }
    pm_purge() { dpkg --purge station; }
    pm_installed_version() { dpkg-query -W -f '${Version}\n' station; }
    pkg_version() { dpkg-deb -f "$1" Version; }
    pm_known() { dpkg -s station >/dev/null 2>&1; }
    pm_verify() { out=$(dpkg --verify station 2>&1) && [ -z "$out" ] || { echo "$out"; return 1; }; }
    pkg_script() {
      local n; case "$2" in postinstall) n=postinst ;; preremove) n=prerm ;; postremove) n=postrm ;; esac
      dpkg-deb --ctrl-tarfile "$1" | tar -xO "./$n"
    }
    pkg_files() { dpkg-deb -c "$1" | awk '$1 ~ /^-/ { sub(/^\./, "", $6); print $6 }'; }
    # Debian Policy §6.5-6.6: an upgrade runs old prerm upgrade NEW, old postrm upgrade NEW, new postinst
    # configure OLD; remove runs prerm remove, postrm remove; purge runs postrm purge.
    seq_install="new postinstall configure"
    seq_upgrade="old preremove upgrade 9.9|old postremove upgrade 9.9|new postinstall configure 0.1"
    seq_remove="old preremove remove|old postremove remove"
    seq_purge="old postremove purge"
    ;;
  rpm)
    # --nodeps: the .rpm requires shadow-utils and systemd, which are rpm packages; Debian has useradd and
    # systemd from its own packages, so rpm's database has neither. --nodeps skips only that dependency
    # check; the maintainer scripts run (never --noscripts: they are what this tests). rpm on Debian keeps
    # its database in ~/.rpmdb and warns that alien is the usual way; the warning is harmless.
    pm_install_cmd="rpm -i --nodeps" pm_upgrade_cmd="rpm -U --nodeps" pm_remove_cmd="rpm -e"
    pm_purge_cmd="rm -rf /var/lib/station /etc/station; userdel station"
    # rpm -i/-U/-e exit 0 when %post or %postun fails (it only warns): a warning fails the step here.
    rpm_strict() { local out rc; out=$("$@" 2>&1); rc=$?; printf '%s\n' "$out"; [ $rc -eq 0 ] && ! grep -qi 'scriptlet failed\|^error' <<<"$out"; }
    pm_install() { rpm_strict rpm -i --nodeps "$1"; }
    pm_upgrade() { rpm_strict rpm -U --nodeps "$1"; }
    pm_remove() { rpm_strict rpm -e station; }
    # rpm has no purge: what packaging/README.md tells the operator to run to delete the data, the
    # configuration and the user after rpm -e.
    pm_purge() { rm -rf /var/lib/station /etc/station && userdel station; }
    pm_installed_version() { rpm -q --qf '%{VERSION}-%{RELEASE}\n' station; }
    pkg_version() { rpm -qp --qf '%{VERSION}-%{RELEASE}' "$1"; }
    pm_known() { rpm -q station >/dev/null 2>&1; }
    pm_verify() { rpm -V --nodeps station; } # --nodeps: as for the install, shadow-utils and systemd are no rpm packages here
    pkg_script() {
      local t; case "$2" in postinstall) t=POSTIN ;; preremove) t=PREUN ;; postremove) t=POSTUN ;; esac
      rpm -qp --qf "[%{$t}]" "$1"
    }
    pkg_files() { rpm -qp --qf '[%{FILEMODES:perms} %{FILENAMES}\n]' "$1" | awk '$1 ~ /^-/ { print $2 }'; }
    # rpm passes the number of packages of that name left after the step: an install runs %post 1; an
    # upgrade runs the new %post 2, then the old %preun 1 and %postun 1; an erase runs %preun 0, %postun 0.
    # There is no purge.
    seq_install="new postinstall 1"
    seq_upgrade="new postinstall 2|old preremove 1|old postremove 1"
    seq_remove="old preremove 0|old postremove 0"
    seq_purge=""
    ;;
esac

pid=""
stop_station() { [ -n "$pid" ] && { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; }; pid=""; }
cleanup() { # only what this run created: it refused to start if any of it was there
  stop_station
  case "$fmt" in
    deb) dpkg --purge station >/dev/null 2>&1 ;;
    rpm) rpm -e --nodeps station >/dev/null 2>&1 ;;
  esac
  rm -rf /var/lib/station /etc/station
  rmdir /usr/share/doc/station 2>/dev/null # when a failed rpm -e left it empty
  getent passwd station >/dev/null && userdel station >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

# ---- The package file, before it is installed. ----
case "$fmt" in
  deb)
    if command -v lintian >/dev/null; then
      check "lintian reports no errors" bash -c "! lintian --tag-display-limit 0 '$pkg' 2>/dev/null | grep '^E:'"
    fi
    ;;
  rpm)
    check "rpm -K: the package's digests are intact" bash -c "rpm -K --nosignature '$pkg' | grep -q 'digests OK'"
    check "rpm -qip: station, a version, release 1, AGPL-3.0-or-later, this machine's architecture" bash -c \
      "rpm -qip '$pkg' && rpm -qp --qf '%{VERSION}' '$pkg' | grep -q '^[0-9]' && [ \"\$(rpm -qp --qf '%{NAME} %{RELEASE} %{LICENSE} %{ARCH}' '$pkg')\" = \"station 1 AGPL-3.0-or-later \$(rpm --eval '%{_arch}')\" ]"
    check "rpm -ql: the binary, the unit, the udev rules, the README and /etc/station, nothing else" bash -c \
      "[ \"\$(rpm -qlp '$pkg' | sort | tr '\n' ' ')\" = '/etc/station /usr/bin/station /usr/lib/systemd/system/station.service /usr/lib/udev/rules.d/61-station.rules /usr/share/doc/station /usr/share/doc/station/README.md ' ]"
    check "the package requires shadow-utils and systemd (not Debian's adduser)" bash -c \
      "rpm -qpR '$pkg' | grep -qx shadow-utils && rpm -qpR '$pkg' | grep -qx systemd && ! rpm -qpR '$pkg' | grep -q adduser"
    ;;
esac
scripts_are_ours() {
  for s in postinstall preremove postremove; do
    pkg_script "$1" "$s" >"$work/$s" || return 1
    cmp "$work/$s" "$here/scripts/$s.sh" || return 1
  done
}
check "the package's maintainer scripts are packaging/scripts/*.sh" scripts_are_ours "$pkg"

# The maintainer scripts run with the manager's arguments for each step, against stubs that record what
# they call (systemctl, station, udevadm, userdel, rm, getent) and with systemd "running" (their
# /run/systemd/system test pointed at a directory here): this machine has no systemd as PID 1, so the
# real install below never takes the systemctl branch. An install enables and starts the service; an
# upgrade restarts it and must not stop or disable it or delete anything; a removal (dpkg -r, rpm -e)
# disables and stops it and keeps the user, data and configuration; only dpkg's purge deletes them.
sim="$work/sim"
mkdir -p "$sim/bin" "$sim/run/systemd/system" "$sim/old" "$sim/new"
for c in systemctl station udevadm userdel rm getent; do
  printf '#!/bin/sh\necho "%s $*" >>"%s/calls"\n' "$c" "$sim" >"$sim/bin/$c"
  chmod +x "$sim/bin/$c"
done
for s in postinstall preremove postremove; do
  for side in old new; do # both sides: the package under test (an upgrade from itself)
    pkg_script "$pkg" "$s" | sed "s#/run/systemd/system#$sim/run/systemd/system#g" >"$sim/$side/$s"
  done
done
# steps "event" must... -- must-not...: runs $seq_<event>, then greps the recorded calls
steps() {
  local seq event="$1"; shift
  eval "seq=\$seq_$event"
  : >"$sim/calls"
  local runs step side script args
  IFS='|' read -ra runs <<<"$seq"
  for step in "${runs[@]}"; do
    read -r side script args <<<"$step"
    echo "+ $script $args" >>"$sim/calls"
    # shellcheck disable=SC2086 # the arguments are words
    PATH="$sim/bin:$PATH" sh -e "$sim/$side/$script" $args || { cat "$sim/calls"; echo "$script $args failed"; return 1; }
  done
  cat "$sim/calls"
  local must=1 p
  for p in "$@"; do
    if [ "$p" = "--" ]; then must=0; continue; fi
    if [ $must = 1 ]; then grep -q "^$p" "$sim/calls" || { echo "missing: $p"; return 1; }
    else ! grep -q "^$p" "$sim/calls" || { echo "unexpected: $p"; return 1; }; fi
  done
}
label() { local seq; eval "seq=\$seq_$1"; seq="${seq//old /}"; seq="${seq//new /}"; echo "${seq//|/, }"; }
check "install ($(label install)): the user and data, the service enabled and started, nothing deleted" \
  steps install 'station service install --no-unit' 'systemctl enable station.service' 'systemctl restart station.service' \
  -- 'systemctl disable' 'systemctl stop' 'rm ' 'userdel'
check "upgrade ($(label upgrade)): the service restarted, not stopped or disabled, nothing deleted" \
  steps upgrade 'station service install --no-unit' 'systemctl restart station.service' \
  -- 'systemctl disable' 'systemctl stop' 'rm ' 'userdel'
check "remove ($(label remove)): the service disabled and stopped; the user, data and configuration kept" \
  steps remove 'systemctl disable --now station.service' -- 'rm ' 'userdel' 'station '
if [ -n "$seq_purge" ]; then
  check "purge ($(label purge)): the data, the configuration and the user deleted" \
    steps purge 'rm -rf /var/lib/station /etc/station' 'userdel station'
fi

# ---- Installed. ----
check "$pm_install_cmd installs the package" pm_install "$pkg"
check "the package database has this version" bash -c "[ \"\$1\" = \"\$2\" ]" _ "$(pm_installed_version)" "$(pkg_version "$pkg")"
check "the installed files verify against the package database" pm_verify
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
check "the data directory is 0700 and owned by station" bash -c "[ \"\$(stat -c %a:%U /var/lib/station)\" = 700:station ]"
check "a config file was written, mode 640, group station" bash -c "[ \"\$(stat -c %a:%G /etc/station/station.toml)\" = 640:station ]"
check "station config check accepts it" /usr/bin/station config check
check "the config serves plain HTTP on loopback and HTTPS on the LAN" bash -c "grep -qx 'listen = \"127.0.0.1:8080\"' /etc/station/station.toml && grep -qx 'listen-https = \":8443\"' /etc/station/station.toml"
start_station() { # the station run by hand as its user, on test ports
  runuser -u station -- /usr/bin/station run --config /etc/station/station.toml --listen 127.0.0.1:18080 --listen-https 127.0.0.1:18443 >"$work/run$1.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do curl -fs http://127.0.0.1:18080/readyz >/dev/null 2>&1 && break; sleep 0.1; done
}
start_station 1
ca=/var/lib/station/tls/ca.crt
check "the station starts as its user" bash -c "curl -fsS http://127.0.0.1:18080/readyz || { cat '$work/run1.log'; exit 1; }"
check "the station CA was created, its keys 0600 and owned by station" bash -c "test -f $ca && for k in ca.key server.key; do [ \"\$(stat -c %a:%U /var/lib/station/tls/\$k)\" = 600:station ] || exit 1; done"
check "HTTPS answers with a certificate from the station CA, with HSTS" bash -c "curl -fsS --cacert $ca -D - -o /dev/null https://127.0.0.1:18443/readyz | grep -qi '^strict-transport-security: max-age=31536000'"
check "HTTPS is refused by a client that lacks the station CA" bash -c "! curl -fs -o /dev/null https://127.0.0.1:18443/readyz"
command -v openssl >/dev/null && check "the setup page gives out the same CA (DER)" bash -c "curl -fsS --cacert $ca https://127.0.0.1:18443/api/v1/setup/ca.crt | cmp - <(openssl x509 -in $ca -outform DER)"
check "plain HTTP on the LAN is refused" bash -c "out=\$(runuser -u station -- /usr/bin/station run --config /etc/station/station.toml --listen 0.0.0.0:18081 2>&1); [ \$? -eq 1 ] && grep -q 'listen-https' <<<\"\$out\""
echo "pretend records" | runuser -u station -- tee /var/lib/station/keep-me >/dev/null
check "station doctor: the data directory, key, database, audit, web and HTTPS checks pass" bash -c \
  "STATION_LISTEN=127.0.0.1:18080 STATION_LISTEN_HTTPS=127.0.0.1:18443 /usr/bin/station doctor > '$work/doctor.txt'; cat '$work/doctor.txt'; for c in 数据目录 数据密钥 数据库 审计日志 网页服务 'HTTPS 证书' 'HTTPS 服务'; do grep -q \"^✓ \$c：\" '$work/doctor.txt' || exit 1; done"
command -v openssl >/dev/null && check "station tls show prints the CA's fingerprint" bash -c "/usr/bin/station tls show | grep -q \"\$(openssl x509 -in $ca -noout -fingerprint -sha256 | cut -d= -f2)\""
stop_station
check "the key file is 0600" bash -c "[ \"\$(stat -c %a /var/lib/station/datakey)\" = 600 ]"

# ---- Upgraded in place. ----
if [ -n "$newer" ]; then
  kept="/etc/station/station.toml /var/lib/station/datakey /var/lib/station/tls/ca.crt /var/lib/station/keep-me"
  # shellcheck disable=SC2086
  before="$(sha256sum $kept) $(id station)"
  check "$pm_upgrade_cmd of a newer package upgrades in place" pm_upgrade "$newer"
  check "the package database has the newer version, and only it" bash -c "[ \"\$1\" = \"\$2\" ]" _ "$(pm_installed_version)" "$(pkg_version "$newer")"
  check "the upgrade keeps the configuration, the data key, the CA, the data and the user (same uid, groups)" \
    bash -c "[ \"\$(sha256sum $kept) \$(id station)\" = \"\$1\" ]" _ "$before"
  check "the upgrade keeps the data directory's owner and mode" bash -c "[ \"\$(stat -c %a:%U /var/lib/station)\" = 700:station ]"
  check "the upgraded files verify against the package database" pm_verify
  start_station 2
  check "the upgraded station starts on the same data directory" bash -c "curl -fsS http://127.0.0.1:18080/readyz || { cat '$work/run2.log'; exit 1; }"
  check "the audit chain still verifies after the upgrade" runuser -u station -- /usr/bin/station audit verify --data /var/lib/station
  stop_station
fi

# ---- Removed: the package's files go; the data, the configuration and the user stay. ----
pkg_files "${newer:-$pkg}" >"$work/files"
check "$pm_remove_cmd removes the package" pm_remove
check "remove keeps the data directory" test -f /var/lib/station/keep-me
check "remove keeps the database" test -f /var/lib/station/station.db
check "remove keeps the configuration" test -f /etc/station/station.toml
check "remove keeps the user" getent passwd station
check "remove takes the binary" test ! -e /usr/bin/station
check "remove takes every file the package installed, and its empty directories" bash -c \
  "[ -s '$work/files' ] || exit 1; while read -r f; do [ ! -e \"\$f\" ] || { echo \"left: \$f\"; exit 1; }; done < '$work/files'; [ ! -e /usr/share/doc/station ] || { echo 'left: /usr/share/doc/station'; exit 1; }"
case "$fmt" in
  deb) check "dpkg keeps only the package's configuration state" bash -c "[ \"\$(dpkg-query -W -f '\${Status}' station)\" = 'deinstall ok config-files' ]" ;;
  rpm) check "rpm -e leaves no station package in the rpm database" bash -c "! rpm -q station" ;;
esac

# ---- Purged (rpm: deleted by hand as documented): nothing is left. ----
check "$pm_purge_cmd deletes the rest" pm_purge
check "the data directory is gone" test ! -e /var/lib/station
check "the configuration is gone" test ! -e /etc/station
check "the user is gone" bash -c "! getent passwd station"
check "the user's group is gone" bash -c "! getent group station"
check "no package database knows station" bash -c "! { dpkg -s station || rpm -q station; } >/dev/null 2>&1"
stop_station
trap - EXIT
rm -rf "$work"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
