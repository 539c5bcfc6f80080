#!/usr/bin/env bash
# Runs the Python publisher client's tests (clients/python/tests, stdlib unittest) with
# /usr/bin/python3 against a real hub: ${HERALD_BIN:-build/herald}. Each test module starts its
# own `herald serve` on 127.0.0.1:0 in a temporary data dir. The last line is exactly
#   python-client: N passed, N failed
# and the exit status is 0 only when none failed; a runner that crashes, hangs past
# PYTHON_CLIENT_TIMEOUT seconds (default 600) or prints no result counts as one failure.
set -uo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-/usr/bin/python3}
HERALD_BIN=$(realpath -m "${HERALD_BIN:-build/herald}")
export HERALD_BIN

summary() {  # $1 passed, $2 failed
  echo "python-client: $1 passed, $2 failed"
  [ "$2" -eq 0 ]
  exit $?
}

if [ ! -x "$HERALD_BIN" ]; then
  echo "python-client: no herald binary at $HERALD_BIN (make build, or set HERALD_BIN)"
  summary 0 1
fi
if [ ! -x "$PYTHON" ]; then
  echo "python-client: no Python at $PYTHON (Debian's python3)"
  summary 0 1
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
timeout --kill-after=10 "${PYTHON_CLIENT_TIMEOUT:-600}" \
  "$PYTHON" clients/python/tests/run.py 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

result=$(grep -E '^python-client tests: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$log" | tail -n 1)
if [ -z "$result" ]; then
  # Killed or crashed mid-run: what finished counts, and the run itself is one failure.
  echo "python-client: the test runner ended without a result (exit status $status)"
  summary "$(grep -cE ' \.\.\. ok$' "$log")" "$(($(grep -cE ' \.\.\. (FAIL|ERROR)$' "$log") + 1))"
fi
passed=$(sed -E 's/^python-client tests: ([0-9]+) passed.*/\1/' <<<"$result")
failed=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$result")
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  echo "python-client: the test runner exited with status $status after its result"
  failed=1
fi
summary "$passed" "$failed"
