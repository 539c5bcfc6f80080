# Shared helpers for the bench/run_*.sh scripts: start and stop the servers under test, wait
# for a quiet machine. Source it; every server started here is stopped by bench_cleanup
# (installed as an EXIT trap by bench_init).
#
# After bench_start_herald / bench_start_nchan:
#   SERVER_KIND  herald | nchan
#   SERVER_PORT  loopback port it listens on
#   SERVER_PID   the process we started (nginx: the master)
#   SERVER_PIDS  comma-separated pids whose RSS/CPU the loadgen reads (nginx: the workers)
#   SERVER_DIR   its temporary directory (removed when stopped)

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_ROOT=$(cd "$BENCH_DIR/.." && pwd)
HERALD_BIN=${HERALD_BIN:-$BENCH_ROOT/build/herald}
HERALD_JWT_SECRET_BENCH=${HERALD_JWT_SECRET_BENCH:-bench-secret-0123456789abcdef0123456789}
# Extra flags for `herald serve` (the hub logs at warn: nginx runs with access_log off).
HERALD_ARGS=${HERALD_ARGS:---log-level warn}
SERVER_KIND="" SERVER_PORT="" SERVER_PID="" SERVER_PIDS="" SERVER_DIR="" SERVER_CMD=""

bench_log() { echo "[bench $(date -u +%H:%M:%S)] $*" >&2; }

bench_init() {
  ulimit -n "$(ulimit -Hn)"
  # BENCH_NICE (e.g. -10) gives the servers and the loadgen priority over whatever else shares
  # the machine. With autogroup scheduling, nice only counts inside a session, so the script
  # re-runs itself in a new session (its own autogroup) and sets that group's nice. Unset,
  # nothing changes.
  if [ -n "${BENCH_NICE:-}" ] && [ -z "${BENCH_IN_SESSION:-}" ]; then
    BENCH_IN_SESSION=1 exec setsid --wait "$0" "$@"
  fi
  if [ -n "${BENCH_NICE:-}" ]; then
    if [ -w "/proc/$$/autogroup" ]; then
      echo "$BENCH_NICE" >"/proc/$$/autogroup" 2>/dev/null || bench_log "autogroup nice failed"
    fi
    renice -n "$BENCH_NICE" -p $$ >/dev/null || bench_log "renice $BENCH_NICE failed"
  fi
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
}

bench_cleanup() {
  bench_stop_server
  case "${BENCH_SNAPSHOT_DIR:-}" in /tmp/herald-bench-bin.*) rm -rf "$BENCH_SNAPSHOT_DIR" ;; esac
}

# Copies the hub binary aside so a rebuild during the run cannot change it between cases;
# BENCH_SNAPSHOT_NOTE says what was copied.
bench_snapshot_herald() {
  [ -x "$HERALD_BIN" ] || return 0
  BENCH_SNAPSHOT_DIR=$(mktemp -d /tmp/herald-bench-bin.XXXXXX)
  cp "$HERALD_BIN" "$BENCH_SNAPSHOT_DIR/herald"
  local built sum tree
  built=$(date -u -r "$HERALD_BIN" +%Y-%m-%dT%H:%M:%SZ)
  sum=$(sha256sum "$HERALD_BIN" | cut -c1-16)
  tree=$(git -C "$BENCH_ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')
  BENCH_SNAPSHOT_NOTE="herald binary: $HERALD_BIN, built $built, sha256 $sum…, tree at $tree"
  HERALD_BIN=$BENCH_SNAPSHOT_DIR/herald
}

bench_start_herald() {  # THREADS
  local threads=$1
  [ -x "$HERALD_BIN" ] || { bench_log "no hub binary at $HERALD_BIN"; return 1; }
  SERVER_DIR=$(mktemp -d /tmp/herald-bench-hub.XXXXXX)
  # Rate limits off, through the environment so that --rate-limit-* flags in HERALD_ARGS win:
  # the loadgen publishes for every user with one token, far past the default per-user publish
  # budget, and opens streams in bursts.
  # shellcheck disable=SC2086  # HERALD_ARGS is a list of flags
  HERALD_RATE_LIMIT_PUBLISHES=${HERALD_RATE_LIMIT_PUBLISHES:-0} \
  HERALD_RATE_LIMIT_STREAM_OPENS=${HERALD_RATE_LIMIT_STREAM_OPENS:-0} \
  "$HERALD_BIN" serve --listen 127.0.0.1:0 --jwt-secret "$HERALD_JWT_SECRET_BENCH" \
    --threads "$threads" --data-dir "$SERVER_DIR/data" $HERALD_ARGS \
    </dev/null >"$SERVER_DIR/herald.log" 2>&1 &
  SERVER_PID=$! SERVER_KIND=herald SERVER_PIDS=$SERVER_PID SERVER_PORT=""
  SERVER_CMD="$HERALD_BIN serve --listen 127.0.0.1:0 --jwt-secret … --threads $threads --data-dir <tmp> $HERALD_ARGS (HERALD_RATE_LIMIT_PUBLISHES=${HERALD_RATE_LIMIT_PUBLISHES:-0} HERALD_RATE_LIMIT_STREAM_OPENS=${HERALD_RATE_LIMIT_STREAM_OPENS:-0})"
  local _
  for _ in $(seq 1 300); do  # at most 30 s
    SERVER_PORT=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' \
                    "$SERVER_DIR/herald.log" | head -n1)
    if [ -n "$SERVER_PORT" ]; then
      sleep "${BENCH_SERVER_SETTLE:-1}"  # let start-up finish before the baseline RSS is read
      return 0
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  bench_log "herald did not start:"; cat "$SERVER_DIR/herald.log" >&2
  bench_stop_server
  return 1
}

bench_start_nchan() {  # WORKERS
  local out
  out=$("$BENCH_DIR/nchan/start.sh" "$1") || return 1
  read -r SERVER_PORT SERVER_PID SERVER_DIR <<<"$out"
  SERVER_KIND=nchan
  SERVER_CMD="bench/nchan/start.sh $1 (nginx $(nginx -v 2>&1 | cut -d/ -f2), worker_processes $1)"
  local children=""
  for _ in $(seq 1 50); do  # the workers appear shortly after the master
    children=$(cat "/proc/$SERVER_PID/task/$SERVER_PID/children" 2>/dev/null || true)
    [ "$(wc -w <<<"$children")" -ge "$1" ] && break
    sleep 0.1
  done
  SERVER_PIDS=$(tr -s ' ' ',' <<<"$children" | sed 's/,$//')
  sleep "${BENCH_SERVER_SETTLE:-1}"  # let start-up finish before the baseline RSS is read
}

bench_stop_server() {
  [ -n "$SERVER_PID" ] || return 0
  if [ "$SERVER_KIND" = nchan ]; then
    "$BENCH_DIR/nchan/stop.sh" "$SERVER_PID" "$SERVER_DIR"
  else
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    local _
    for _ in $(seq 1 150); do  # at most 15 s for a graceful drain
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    case "$SERVER_DIR" in /tmp/herald-bench-hub.*) rm -rf "$SERVER_DIR" ;; esac
  fi
  SERVER_KIND="" SERVER_PORT="" SERVER_PID="" SERVER_PIDS="" SERVER_DIR=""
}

# Waits (at most BENCH_QUIET_TIMEOUT seconds, default 0 = not at all) until other processes
# use less than BENCH_QUIET_PCT percent (default 15) of the machine, sampled over 2 s.
bench_wait_quiet() {
  local timeout=${BENCH_QUIET_TIMEOUT:-0} limit=${BENCH_QUIET_PCT:-15}
  local deadline=$((SECONDS + timeout)) a b pct
  while [ "$timeout" -gt 0 ]; do
    a=$(awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat)
    sleep 2
    b=$(awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat)
    pct=$(awk -v a="$a" -v b="$b" 'BEGIN{split(a,x," ");split(b,y," ");
          t=y[2]-x[2]; print (t>0)?int(100*(y[1]-x[1])/t):0}')
    [ "$pct" -lt "$limit" ] && return 0
    if [ "$SECONDS" -ge "$deadline" ]; then
      bench_log "machine still ${pct}% busy after ${timeout}s; measuring anyway"
      return 0
    fi
    bench_log "machine ${pct}% busy; waiting for it to quiet down"
  done
}
