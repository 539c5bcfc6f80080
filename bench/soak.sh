#!/usr/bin/env bash
# Soak (issue 14; not part of `make test`): a hub holding SOAK_USERS × 10 streams (default
# 1 900 × 10 = 19 000) for SOAK_MINUTES (default 60) while the loadgen's latency scenario
# publishes SOAK_RATE events/s (default 100, each delivered to the user's 10 streams) and
# bench/soak_churn.py opens and closes SOAK_CHURN other streams per second (default 5). Every
# minute the hub's RSS and open descriptors are printed, and the loadgen's line for that minute
# (deliveries, latency p50/p99/max, failed publishes, streams the hub closed); at the end, the
# loadgen's JSON record (whole-run latency, missing and duplicated deliveries) and the churn's
# count.
#
#   bench/soak.sh                      # the hour
#   SOAK_MINUTES=5 bench/soak.sh       # the short version
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init "$@"
minutes=${SOAK_MINUTES:-60}
users=${SOAK_USERS:-1900}
rate=${SOAK_RATE:-100}
churn=${SOAK_CHURN:-5}
LOADGEN=${LOADGEN:-$BENCH_ROOT/build/bench/loadgen/loadgen}
bench_snapshot_herald
bench_start_herald 2
bench_log "herald on port $SERVER_PORT, pid $SERVER_PID; $users users × 10 streams, $rate events/s, $churn churned streams/s, $minutes min"

sample() {  # minute: RSS and descriptors of the hub
  local rss fds
  rss=$(awk '/^VmRSS:/{print $2}' "/proc/$SERVER_PID/status")
  fds=$(find "/proc/$SERVER_PID/fd" -mindepth 1 -maxdepth 1 | wc -l)
  echo "soak minute $1: rss_kb=$rss fds=$fds"
}
(
  for m in $(seq 0 "$minutes"); do
    sample "$m"
    sleep 60
  done
) &
sampler=$!
python3 "$BENCH_DIR/soak_churn.py" --port "$SERVER_PORT" --secret "$HERALD_JWT_SECRET_BENCH" \
  --rate "$churn" --seconds $((minutes * 60)) &
churner=$!
trap 'kill $sampler $churner 2>/dev/null || true; bench_cleanup' EXIT

timeout --kill-after=10 $((minutes * 60 + 600)) "$LOADGEN" --target herald --scenario latency \
  --port "$SERVER_PORT" --server-pids "$SERVER_PID" --jwt-secret "$HERALD_JWT_SECRET_BENCH" \
  --users "$users" --per-user 10 --rate "$rate" --duration $((minutes * 60)) --event-size 200 \
  --publishers 4 --threads 1 --connect-concurrency 200 --connect-timeout 120 --interval 60 \
  --tag soak=1
sample end
wait "$churner" || true
