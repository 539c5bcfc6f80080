#!/usr/bin/env bash
# Stops an nginx started by start.sh: SIGTERM to the master, then SIGKILL to it and its workers
# if it has not exited within 10 s; removes the prefix.
#   bench/nchan/stop.sh MASTER_PID PREFIX
set -uo pipefail
pid=${1:?usage: stop.sh MASTER_PID PREFIX}
prefix=${2:-}
children=$(cat "/proc/$pid/task/$pid/children" 2>/dev/null || true)
kill -TERM "$pid" 2>/dev/null || true
for _ in $(seq 1 100); do
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
for p in $pid $children; do
  kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
done
case "$prefix" in
  /tmp/herald-bench-nchan.*) rm -rf "$prefix" ;;
esac
exit 0
