#!/usr/bin/env bash
# Starts nginx + nchan on a free loopback port from a fresh temporary prefix, in the background.
#
#   bench/nchan/start.sh WORKERS   → prints "PORT MASTER_PID PREFIX" on one line
#
# Stop it with bench/nchan/stop.sh MASTER_PID PREFIX (or kill MASTER_PID; rm -rf PREFIX).
# Tunables (environment): NCHAN_SHM (default 512M), NCHAN_BUFFER (messages kept per channel,
# default 2500).
set -euo pipefail

workers=${1:?usage: start.sh WORKERS}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
shm=${NCHAN_SHM:-512M}
buffer=${NCHAN_BUFFER:-2500}

# A free port: try up to 200 random ones in 20000–29999 that nothing listens on.
port=""
for _ in $(seq 1 200); do
  candidate=$((20000 + RANDOM % 10000))
  if [ -z "$(ss -Hltn "sport = :$candidate" 2>/dev/null)" ]; then
    port=$candidate
    break
  fi
done
[ -n "$port" ] || { echo "start.sh: no free port found" >&2; exit 1; }

prefix=$(mktemp -d /tmp/herald-bench-nchan.XXXXXX)
sed -e "s|@WORKERS@|$workers|g" -e "s|@PREFIX@|$prefix|g" -e "s|@PORT@|$port|g" \
    -e "s|@SHM@|$shm|g" -e "s|@BUFFER@|$buffer|g" \
    "$here/nginx.conf.template" > "$prefix/nginx.conf"

ulimit -n "$(ulimit -Hn)"
nginx -p "$prefix/" -c "$prefix/nginx.conf" -e "$prefix/error.log" \
  </dev/null >"$prefix/stdout.log" 2>&1 &
pid=$!

# Ready when the port accepts a connection: at most 100 tries, 0.1 s apart.
for _ in $(seq 1 100); do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "start.sh: nginx exited:" >&2
    cat "$prefix/stdout.log" "$prefix/error.log" >&2 2>/dev/null || true
    rm -rf "$prefix"
    exit 1
  fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "$port $pid $prefix"
    exit 0
  fi
  sleep 0.1
done
echo "start.sh: nginx did not accept connections within 10 s" >&2
kill "$pid" 2>/dev/null || true
exit 1
