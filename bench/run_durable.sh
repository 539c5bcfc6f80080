#!/usr/bin/env bash
# "Durable events" storage cases (docs/BENCHMARKS.md): replay of 10 000 events, and the size of
# the data directory after 1 M batched events with default retention. Every hub is fresh and is
# stopped afterwards (lib.sh's EXIT trap).
#
#   bench/run_durable.sh replay|size USERS
#   BENCH_NICE=-10 bench/run_durable.sh size 1000
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init "$@"
what=${1:?replay|size}
LOADGEN=${LOADGEN:-$BENCH_ROOT/build/bench/loadgen/loadgen}
bench_start_herald "${HUB_THREADS:-2}"
bench_log "herald on port $SERVER_PORT, pid $SERVER_PID: $SERVER_CMD"
case "$what" in
  replay)
    timeout --kill-after=5 120 python3 "$BENCH_DIR/replay.py" --port "$SERVER_PORT" \
      --secret "$HERALD_JWT_SECRET_BENCH" --server-pid "$SERVER_PID" --events 10000 --batch 1000 \
      --repeat "${REPLAY_REPEAT:-5}"
    ;;
  size)
    users=${2:?users}
    events=${SIZE_EVENTS:-1000000}
    timeout --kill-after=10 "${BENCH_CASE_TIMEOUT:-300}" "$LOADGEN" --target herald \
      --scenario publish --port "$SERVER_PORT" --server-pids "$SERVER_PID" \
      --jwt-secret "$HERALD_JWT_SECRET_BENCH" --users "$users" --per-user 1 --events "$events" \
      --batch 1000 --publishers 4 --drain-timeout 120 | tail -n 1
    data=$SERVER_DIR/data
    rows() { sqlite3 -readonly "$data/herald.db" 'select count(*) from events' 2>/dev/null || echo '?'; }
    sizes() { du -sb "$data" | cut -f1; }
    t0=$SECONDS prev=""
    # Pruning runs on the writer thread (every 1 s, 2 000 rows a pass): sample until the size and
    # row count stop changing for 5 s, at most SIZE_SETTLE seconds (default 180).
    while :; do
      now="$(sizes) $(rows)"
      echo "size t+$((SECONDS - t0))s: $(du -sh "$data" | cut -f1) bytes,rows=$now files: $(ls -l "$data" | awk 'NR>1{printf "%s=%s ", $9, $5}')"
      if [ "$now" = "$prev" ]; then stable=$((stable + 1)); else stable=0; fi
      [ "$stable" -ge 5 ] && break
      [ $((SECONDS - t0)) -ge "${SIZE_SETTLE:-180}" ] && { echo "not settled after ${SIZE_SETTLE:-180}s"; break; }
      prev=$now
      sleep 1
    done
    echo "server cpu s (utime+stime): $(awk '{print ($14+$15)/100}' "/proc/$SERVER_PID/stat")"
    ;;
  *) echo "unknown case $what" >&2; exit 2 ;;
esac
