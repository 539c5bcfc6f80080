#!/usr/bin/env bash
# The reconnect storm (issue 15): STREAMS SSE streams on a hub, every one of them drops, each
# user gets EVENTS_PER_USER events while they are away, the hub is restarted on the same port
# and data directory, and every stream reconnects at once with its Last-Event-ID. The loadgen
# reports how long until every stream streams again (storm_all_streaming_ms) and until each has
# every event it missed (storm_all_caught_up_ms), and that none was lost or repeated.
#
#   bench/run_storm.sh                 # 1 000 users × 10 streams, 5 missed events a user
#   USERS=100 PER_USER=10 bench/run_storm.sh
#
# Environment: USERS (1000), PER_USER (10), EVENTS_PER_USER (5), THREADS (hub --threads, 2),
# LOADGEN_THREADS (1), BENCH_NICE, HERALD_ARGS (bench/lib.sh). The JSON record is the last line.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init "$@"
USERS=${USERS:-1000} PER_USER=${PER_USER:-10} EVENTS_PER_USER=${EVENTS_PER_USER:-5}
THREADS=${THREADS:-2} LOADGEN_THREADS=${LOADGEN_THREADS:-1}
LOADGEN=${LOADGEN:-$BENCH_ROOT/build/bench/loadgen/loadgen}
[ -x "$LOADGEN" ] || { bench_log "no loadgen at $LOADGEN"; exit 1; }

bench_start_herald "$THREADS"
port=$SERVER_PORT data_dir=$SERVER_DIR/data
bench_log "herald ($THREADS) on port $port, pid $SERVER_PID"
out=$(mktemp /tmp/herald-storm.XXXXXX)
timeout --kill-after=10 "${BENCH_CASE_TIMEOUT:-600}" "$LOADGEN" --target herald --scenario storm \
  --port "$port" --jwt-secret "$HERALD_JWT_SECRET_BENCH" --threads "$LOADGEN_THREADS" \
  --users "$USERS" --per-user "$PER_USER" --events $((USERS * EVENTS_PER_USER)) \
  --publishers 16 --event-size 200 --drain-timeout 60 --restart-timeout 60 \
  --tag "server_threads=$THREADS" >"$out" 2>&1 &
loadgen=$!

# Restart the hub when the loadgen asks: SIGTERM (the drain), then a new process on the same
# port and data directory.
for _ in $(seq 1 3000); do  # at most 300 s
  grep -q '^storm: restart the server now' "$out" && break
  kill -0 "$loadgen" 2>/dev/null || break
  sleep 0.1
done
if grep -q '^storm: restart the server now' "$out"; then
  stop_start=$(date +%s.%N)
  kill -TERM "$SERVER_PID"
  wait "$SERVER_PID" 2>/dev/null || true
  stopped=$(date +%s.%N)
  # shellcheck disable=SC2086  # HERALD_ARGS is a list of flags
  HERALD_RATE_LIMIT_PUBLISHES=0 HERALD_RATE_LIMIT_STREAM_OPENS=0 \
  "$HERALD_BIN" serve --listen "127.0.0.1:$port" --jwt-secret "$HERALD_JWT_SECRET_BENCH" \
    --threads "$THREADS" --data-dir "$data_dir" $HERALD_ARGS \
    </dev/null >>"$SERVER_DIR/herald.log" 2>&1 &
  SERVER_PID=$! SERVER_PIDS=$SERVER_PID
  bench_log "restarted: the old hub drained and exited in $(echo "$stopped - $stop_start" | bc) s; new pid $SERVER_PID"
fi
wait "$loadgen" || bench_log "loadgen exited with $?"
cat "$out"
rm -f "$out"
