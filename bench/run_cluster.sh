#!/usr/bin/env bash
# Cluster benchmark (docs/BENCHMARKS.md "Cluster"): two `herald serve` nodes on one throwaway
# PostgreSQL 15 (initdb in a temporary directory, loopback port, removed afterwards); every
# publish goes to node A, every subscriber is on node B, so each delivery crossed the cluster.
# Beside it, the same case on one single-process hub on SQLite, in the same run.
#
#   bench/run_cluster.sh latency    # cross-node publish→deliver at 1 000 events/s
#   bench/run_cluster.sh publish    # durable publishes/s with 2 nodes (64 publishers)
#   bench/run_cluster.sh cut        # 1 000 events/s while B's relay connection is cut
#
# Figures come from the loadgen's last line (JSON); PostgreSQL's CPU is counted in the loadgen's
# "other" share.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init "$@"
bench_snapshot_herald
bench_log "${BENCH_SNAPSHOT_NOTE:-}"
what=${1:?latency|publish|cut}
LOADGEN=${LOADGEN:-$BENCH_ROOT/build/bench/loadgen/loadgen}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_DIR=$(mktemp -d /tmp/herald-bench-pg.XXXXXX)
PG_PORT=""
NODES=()  # "pid dir port" of each node started

as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

cluster_cleanup() {
  for node in "${NODES[@]}"; do
    read -r pid dir _ <<<"$node"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    case "$dir" in /tmp/herald-bench-hub.*) rm -rf "$dir" ;; esac
  done
  [ -n "$PG_PORT" ] && as_postgres "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop \
    >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
  bench_cleanup
}
trap cluster_cleanup EXIT

start_postgres() {
  [ "$(id -u)" -eq 0 ] && chown postgres "$PG_DIR"
  as_postgres "$PG_BIN/initdb" -A trust -U postgres -D "$PG_DIR/data" >"$PG_DIR/initdb.log"
  PG_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  # Default durability settings (fsync, synchronous_commit on): a 200 means flushed.
  as_postgres "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -o \
    "-p $PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$PG_DIR" start >/dev/null
  bench_log "postgresql on port $PG_PORT ($PG_DIR)"
}

psql_run() {
  as_postgres /usr/bin/psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -Atqc "$1"
}

start_node() {  # THREADS: a node on the cluster's database; appends to NODES
  HERALD_ARGS="${HERALD_ARGS} --store postgresql://postgres@127.0.0.1:$PG_PORT/postgres" \
    bench_start_herald "$1"
  NODES+=("$SERVER_PID $SERVER_DIR $SERVER_PORT")
  bench_log "node ${#NODES[@]}: port $SERVER_PORT, pid $SERVER_PID"
  SERVER_PID="" SERVER_DIR=""  # cluster_cleanup stops it, not bench_stop_server
}

node_field() { read -r pid dir port <<<"${NODES[$1]}"; case "$2" in pid) echo "$pid" ;; port) echo "$port" ;; esac; }

loadgen() {  # SUBSCRIBE_PORT PUBLISH_PORT PIDS LABEL [loadgen flags…]
  local sub=$1 pub=$2 pids=$3 label=$4
  shift 4
  timeout --kill-after=10 "${BENCH_CASE_TIMEOUT:-600}" "$LOADGEN" --target herald \
    --port "$sub" --publish-port "$pub" --server-pids "$pids" \
    --jwt-secret "$HERALD_JWT_SECRET_BENCH" --label "$label" "$@" | tail -n 1
}

case "$what" in
  latency)
    flags=(--scenario latency --users 100 --per-user 1 --rate 1000 --duration "${DURATION:-20}"
           --publishers 8 --warmup-events 2000)
    ;;
  publish)
    flags=(--scenario publish --users 100 --per-user 1 --events "${EVENTS:-50000}" --publishers 64)
    ;;
  cut)
    flags=(--scenario latency --users 100 --per-user 1 --rate 1000 --duration "${DURATION:-20}"
           --publishers 8 --warmup-events 2000)
    ;;
  *) echo "unknown case $what" >&2; exit 2 ;;
esac

threads=${HUB_THREADS:-1}
# The reference in the same run: one hub on SQLite, publishers and subscribers on it.
bench_start_herald "$threads"
bench_log "single hub (SQLite) on port $SERVER_PORT"
loadgen "$SERVER_PORT" "$SERVER_PORT" "$SERVER_PIDS" "single-sqlite" "${flags[@]}"
bench_stop_server

start_postgres
start_node "$threads"
start_node "$threads"
a_port=$(node_field 0 port) b_port=$(node_field 1 port)
pids="$(node_field 0 pid),$(node_field 1 pid)"
if [ "$what" = cut ]; then
  # Cut B's relay connection every 5 s while the run publishes; the loadgen's max latency is the
  # catch-up time, its missing/duplicate counts say whether anything was lost or repeated.
  ( sleep "${CUT_AFTER:-5}"
    for _ in 1 2 3; do
      psql_run "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                WHERE application_name = 'herald-relay'" >&2 || true
      sleep 5
    done ) &
  cutter=$!
fi
loadgen "$b_port" "$a_port" "$pids" "cluster-2-nodes" "${flags[@]}"
[ -n "${cutter:-}" ] && wait "$cutter"
# /metrics needs a token with the metrics scope (--metrics-auth token, the default).
metrics_token=$("$HERALD_BIN" token --sub bench-prometheus --scope metrics \
  --jwt-secret "$HERALD_JWT_SECRET_BENCH")
for i in 0 1; do
  port=$(node_field "$i" port)
  echo "node $((i + 1)) relay: $(curl -s -H "Authorization: Bearer $metrics_token" \
    "http://127.0.0.1:$port/metrics" | grep -E '^herald_relay_(reconnects_total|lag_events) ' | tr '\n' ' ')"
done
