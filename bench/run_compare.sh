#!/usr/bin/env bash
# Herald vs nginx+nchan, side by side, on this machine's loopback interface.
#
#   bench/run_compare.sh            # full sizes (about 15–25 minutes on 2 cores)
#   BENCH_QUICK=1 bench/run_compare.sh   # small sizes, a couple of minutes
#
# For each server size (hub --threads N vs nginx worker_processes N, N in BENCH_CONFIGS) and
# each scenario, runs the loadgen against a fresh Herald and then a fresh nchan, appends every
# JSON record to a results file (bench/results/compare-<UTC time>.jsonl) and prints a table with
# the ratios. Herald rows say "pending" when build/herald does not exist.
#
# Environment (defaults are the sizes of docs/BENCHMARKS.md):
#   BENCH_BUILD=1            build release first (cmake --preset release; -j BENCH_JOBS, 2)
#   BENCH_CONFIGS="1 2"      server threads/workers
#   BENCH_SCENARIOS="idle fanout latency publish"
#   BENCH_TARGETS="herald nchan"
#   IDLE_CONNECTIONS="10000 19000"  IDLE_PER_USER=10   (19 000: the file limit is 20 000)
#   FANOUT_USERS=1000 FANOUT_PER_USER=10 FANOUT_EVENTS=100000 EVENT_SIZE=200 PUBLISHERS=16
#   LATENCY_USERS=1000 LATENCY_PER_USER=10 LATENCY_RATE=2000 LATENCY_DURATION=30
#   LATENCY_WARMUP=2         seconds of events reported apart (a channel's first message)
#   PUBLISH_USERS=100 PUBLISH_EVENTS=200000
#   LOADGEN_THREADS=1        loadgen threads (it shares the 2 cores with the server)
#   BENCH_QUIET_TIMEOUT=0    seconds to wait for a quiet machine before each case
#   BENCH_NICE=              e.g. -10: servers and loadgen get priority over other processes
#   BENCH_RESULTS=FILE       where the JSON records go
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init "$@"

if [ "${BENCH_QUICK:-0}" = 1 ]; then
  : "${IDLE_CONNECTIONS:=1000 2000}" "${FANOUT_USERS:=100}" "${FANOUT_EVENTS:=10000}"
  : "${LATENCY_USERS:=100}" "${LATENCY_RATE:=500}" "${LATENCY_DURATION:=5}"
  : "${PUBLISH_USERS:=100}" "${PUBLISH_EVENTS:=20000}"
fi
: "${BENCH_CONFIGS:=1 2}" "${BENCH_SCENARIOS:=idle fanout latency publish}"
: "${BENCH_TARGETS:=herald nchan}"
: "${IDLE_CONNECTIONS:=10000 19000}" "${IDLE_PER_USER:=10}"
: "${FANOUT_USERS:=1000}" "${FANOUT_PER_USER:=10}" "${FANOUT_EVENTS:=100000}"
: "${EVENT_SIZE:=200}" "${PUBLISHERS:=16}" "${LOADGEN_THREADS:=1}"
: "${LATENCY_USERS:=1000}" "${LATENCY_PER_USER:=10}" "${LATENCY_RATE:=2000}"
: "${LATENCY_DURATION:=30}" "${LATENCY_WARMUP:=2}"
: "${PUBLISH_USERS:=100}" "${PUBLISH_EVENTS:=200000}"

if [ "${BENCH_BUILD:-1}" = 1 ]; then
  bench_log "building release (herald, loadgen)"
  (cd "$BENCH_ROOT" && cmake --preset release >/dev/null &&
     cmake --build build --target herald loadgen -j "${BENCH_JOBS:-2}") ||
    bench_log "release build failed; using whatever binaries exist"
fi
LOADGEN=${LOADGEN:-$BENCH_ROOT/build/bench/loadgen/loadgen}
[ -x "$LOADGEN" ] || { bench_log "no loadgen at $LOADGEN"; exit 1; }

RESULTS=${BENCH_RESULTS:-$BENCH_DIR/results/compare-$(date -u +%Y%m%dT%H%M%SZ).jsonl}
mkdir -p "$(dirname "$RESULTS")"
LOGS=${RESULTS%.jsonl}.log
bench_log "results: $RESULTS (full output: $LOGS)"
bench_snapshot_herald
{
  echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(uname -sr), $(nproc) cores," \
       "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
  echo "# ${BENCH_SNAPSHOT_NOTE:-no herald binary}"
} >>"$LOGS"

run_case() {  # TARGET THREADS SCENARIO SIZE [loadgen flags…]
  local target=$1 threads=$2 scenario=$3 size=$4
  shift 4
  if [ "$target" = herald ] && [ ! -x "$HERALD_BIN" ]; then
    echo "{\"target\":\"herald\",\"scenario\":\"$scenario\",\"size\":\"$size\",\"server_threads\":\"$threads\",\"pending\":true}" >>"$RESULTS"
    return 0
  fi
  bench_wait_quiet
  if [ "$target" = herald ]; then bench_start_herald "$threads"; else bench_start_nchan "$threads"; fi || {
    echo "{\"target\":\"$target\",\"scenario\":\"$scenario\",\"size\":\"$size\",\"server_threads\":\"$threads\",\"error\":\"server did not start\"}" >>"$RESULTS"
    return 0
  }
  bench_log "$target x$threads $scenario $size (port $SERVER_PORT, pids $SERVER_PIDS)"
  local cmd=("$LOADGEN" --target "$target" --scenario "$scenario" --port "$SERVER_PORT"
             --server-pids "$SERVER_PIDS" --jwt-secret "$HERALD_JWT_SECRET_BENCH"
             --threads "$LOADGEN_THREADS" --tag "server_threads=$threads" --tag "size=$size" "$@")
  local out rc=0
  out=$(timeout --kill-after=10 "${BENCH_CASE_TIMEOUT:-900}" "${cmd[@]}" 2>&1) || rc=$?
  { echo "### $target x$threads $scenario $size"; echo "server: $SERVER_CMD"
    echo "\$ ${cmd[*]}"; echo "$out"; } >>"$LOGS"
  local json
  json=$(grep '^{' <<<"$out" | tail -n1 || true)
  if [ -n "$json" ]; then
    echo "$json" >>"$RESULTS"
  else
    echo "{\"target\":\"$target\",\"scenario\":\"$scenario\",\"size\":\"$size\",\"server_threads\":\"$threads\",\"error\":\"loadgen exit $rc\"}" >>"$RESULTS"
    bench_log "loadgen failed (exit $rc); see $LOGS"
  fi
  bench_stop_server
}

for threads in $BENCH_CONFIGS; do
  for scenario in $BENCH_SCENARIOS; do
    case "$scenario" in
      idle)
        for c in $IDLE_CONNECTIONS; do
          for target in $BENCH_TARGETS; do
            run_case "$target" "$threads" idle "$c" --users $((c / IDLE_PER_USER)) \
              --per-user "$IDLE_PER_USER" --settle-ms 2000
          done
        done ;;
      fanout)
        for target in $BENCH_TARGETS; do
          run_case "$target" "$threads" fanout \
            "${FANOUT_USERS}x${FANOUT_PER_USER},${FANOUT_EVENTS}ev" --users "$FANOUT_USERS" \
            --per-user "$FANOUT_PER_USER" --events "$FANOUT_EVENTS" --event-size "$EVENT_SIZE" \
            --publishers "$PUBLISHERS" --drain-timeout 120
        done ;;
      latency)
        for target in $BENCH_TARGETS; do
          run_case "$target" "$threads" latency \
            "${LATENCY_USERS}x${LATENCY_PER_USER},${LATENCY_RATE}/s" --users "$LATENCY_USERS" \
            --per-user "$LATENCY_PER_USER" --rate "$LATENCY_RATE" \
            --duration "$LATENCY_DURATION" --event-size "$EVENT_SIZE" --publishers "$PUBLISHERS" \
            --warmup-events $((LATENCY_RATE * LATENCY_WARMUP))
        done ;;
      publish)
        for target in $BENCH_TARGETS; do
          run_case "$target" "$threads" publish "${PUBLISH_USERS}x1,${PUBLISH_EVENTS}ev" \
            --users "$PUBLISH_USERS" --per-user 1 --events "$PUBLISH_EVENTS" \
            --event-size "$EVENT_SIZE" --publishers "$PUBLISHERS" --drain-timeout 120
        done ;;
      *) bench_log "unknown scenario $scenario" ;;
    esac
  done
done

python3 "$BENCH_DIR/table.py" "$RESULTS"
