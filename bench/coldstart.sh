#!/usr/bin/env bash
# Cold start of `station run --demo` on a fresh data directory until /readyz answers 200, then idle RSS
# after 5 seconds, and the binary's size. Usage: bench/coldstart.sh BIN [RUNS]
set -euo pipefail
bin=${1:?usage: coldstart.sh BIN [RUNS]}
runs=${2:-5}
port=$((20000 + RANDOM % 20000))
printf 'binary size: %s bytes (%s MiB)\n' "$(stat -c %s "$bin")" "$(awk "BEGIN{printf \"%.1f\", $(stat -c %s "$bin")/1048576}")"
for i in $(seq "$runs"); do
  dir=$(mktemp -d)
  start=$(date +%s%N)
  "$bin" run --demo --data "$dir" --listen "127.0.0.1:$port" >"$dir/log" 2>&1 &
  pid=$!
  until curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null; then cat "$dir/log"; exit 1; fi
    sleep 0.005
  done
  end=$(date +%s%N)
  ms=$(( (end - start) / 1000000 ))
  if [ "$i" -eq "$runs" ]; then
    sleep 5
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
    printf 'idle RSS after 5 s: %s KiB\n' "$rss"
  fi
  printf 'cold start %d: %d ms to /readyz\n' "$i" "$ms"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
done
