#!/usr/bin/env bash
# One benchmark case against a fresh server, which is stopped afterwards.
#
#   bench/run_one.sh herald|nchan THREADS SCENARIO [loadgen flags…]
#
# e.g. bench/run_one.sh nchan 1 fanout --users 100 --per-user 10 --events 10000
# THREADS is the hub's --threads or nginx's worker_processes. The loadgen's output goes to
# stdout; its last line is the JSON record. LOADGEN overrides the loadgen binary.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init "$@"
target=${1:?usage: run_one.sh herald|nchan THREADS SCENARIO [loadgen flags…]}
threads=${2:?threads}
scenario=${3:?scenario}
shift 3
LOADGEN=${LOADGEN:-$BENCH_ROOT/build/bench/loadgen/loadgen}
case "$target" in
  herald) bench_start_herald "$threads" ;;
  nchan) bench_start_nchan "$threads" ;;
  *) echo "unknown target $target" >&2; exit 2 ;;
esac
bench_log "$target ($threads) on port $SERVER_PORT, pids $SERVER_PIDS"
# Bounded: no case here needs more than BENCH_CASE_TIMEOUT seconds (default 900).
timeout --kill-after=10 "${BENCH_CASE_TIMEOUT:-900}" "$LOADGEN" --target "$target" \
  --scenario "$scenario" --port "$SERVER_PORT" --server-pids "$SERVER_PIDS" \
  --jwt-secret "$HERALD_JWT_SECRET_BENCH" --tag "server_threads=$threads" "$@"
