#!/usr/bin/env bash
# Conformance suite: the hub driven by clients written by other people (npm eventsource,
# eventsource-parser, @ag-ui/core's zod schemas, Debian's Chromium through playwright-core).
# See tests/conformance/README.md.
#
#   bash scripts/run-conformance.sh            # uses build/herald of this repository
#   HERALD_BIN=/path/to/herald bash scripts/run-conformance.sh
#
# Installs what is missing (Debian packages, then `npm ci` when node_modules is absent or older
# than package-lock.json, for the suite and for clients/js, whose build the suite also tests),
# builds clients/js when its sources changed, runs every tests/conformance/*.test.mjs with
# `node --test` under a time bound, and ends with one parsable line:
#   conformance: N passed, N failed
# (each node:test test counts once; a crash, a timeout or an unreadable summary counts as a
# failure). Exit status 0 only when nothing failed.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SUITE_DIR=$ROOT/tests/conformance
TIME_LIMIT=${CONFORMANCE_TIMEOUT:-300}
export HERALD_BIN=${HERALD_BIN:-$ROOT/build/herald}
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
export PLAYWRIGHT_BROWSERS_PATH=0
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false

summary() {  # $1 passed, $2 failed
  echo "conformance: $1 passed, $2 failed"
  [ "$2" -eq 0 ]
  exit
}

echo "== conformance: dependencies"
if ! bash scripts/install-deps.sh --conformance; then
  echo "conformance: installing Debian packages (nodejs, npm, chromium) failed"
  summary 0 1
fi
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "conformance: Node.js >= 20 is required (found $(node --version 2>/dev/null || echo none))"
  summary 0 1
fi

# npm_ci_if_lock_changed DIR LABEL: `npm ci` in DIR when its node_modules is missing or was
# installed from another package-lock.json (a stamp of the lock's hash in node_modules).
npm_ci_if_lock_changed() {
  local dir=$1 label=$2 lock_sum stamp
  lock_sum=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  stamp=$dir/node_modules/.herald-lock-sha256
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$lock_sum" ]; then return 0; fi
  echo "== conformance: npm ci ($label)"
  if ! (cd "$dir" && timeout 600 npm ci --no-audit --no-fund --loglevel=error </dev/null); then
    echo "conformance: npm ci in $label failed"
    summary 0 1
  fi
  echo "$lock_sum" >"$stamp"
}

npm_ci_if_lock_changed "$SUITE_DIR" "tests/conformance"
# Herald's own JS client (clients/js), which the js-client*.test.mjs files import from its build
# (dist/): its modules the same way, then `npm run build` (tsc) when dist/ was built from other
# sources or is missing.
CLIENT_DIR=$ROOT/clients/js
npm_ci_if_lock_changed "$CLIENT_DIR" "clients/js"
build_sum=$(cd "$CLIENT_DIR" && cat package.json package-lock.json tsconfig.json src/*.ts | sha256sum | cut -d' ' -f1)
build_stamp=$CLIENT_DIR/dist/.herald-build-sha256
if [ ! -f "$build_stamp" ] || [ "$(cat "$build_stamp")" != "$build_sum" ]; then
  echo "== conformance: build clients/js"
  if ! (cd "$CLIENT_DIR" && timeout 300 npm run build --silent </dev/null); then
    echo "conformance: building clients/js (npm run build) failed"
    summary 0 1
  fi
  echo "$build_sum" >"$build_stamp"
fi

if [ ! -x "$HERALD_BIN" ]; then
  echo "conformance: no hub binary at $HERALD_BIN (run 'make build' or set HERALD_BIN)"
  summary 0 1
fi

echo "== conformance: tests (hub: $HERALD_BIN, limit ${TIME_LIMIT}s)"
tap=$(mktemp)
trap 'rm -f "$tap"' EXIT
started=$(date +%s)
# `timeout` signals its whole process group on expiry, so hubs and browsers the tests started
# go with the runner.
(cd "$SUITE_DIR" && timeout --kill-after=15 "$TIME_LIMIT" node --test \
  --test-concurrency=1 --test-timeout=120000 \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$tap" \
  ./*.test.mjs </dev/null)
rc=$?
echo "== conformance: node --test exited $rc after $(( $(date +%s) - started ))s"

count() {  # the last "# <word> N" line of the TAP summary
  grep -E "^# $1 [0-9]+$" "$tap" | tail -n 1 | awk '{print $3}'
}
pass=$(count pass)
fail=$(count fail)
cancelled=$(count cancelled)
if [ -z "$pass" ] || [ -z "$fail" ]; then
  echo "conformance: the runner printed no summary (exit $rc)"
  summary "${pass:-0}" "$(( ${fail:-0} + 1 ))"
fi
fail=$(( fail + ${cancelled:-0} ))
if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
  echo "conformance: timed out after ${TIME_LIMIT}s"
  fail=$(( fail + 1 ))
elif [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
  echo "conformance: node --test failed (exit $rc) without a failing test"
  fail=1
fi
summary "$pass" "$fail"
