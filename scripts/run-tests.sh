#!/usr/bin/env bash
# Builds and runs every test suite, then prints one summary line: "N passed, N failed".
#   1. format check (clang-format) and lint (clang-tidy over src/ and the file-size rule,
#      scripts/lint.sh; HERALD_SKIP_LINT=1 skips it)
#   2. release build (warnings as errors) + all GoogleTest suites through CTest
#   3. script stages against build/herald: conformance (independent clients and Chromium,
#      scripts/run-conformance.sh), the Python client (scripts/run-python-client-tests.sh), the
#      Debian package and the Dockerfile (scripts/test-package.sh)
#   4. debug build with ASan+UBSan + all suites again
#   5. clang ThreadSanitizer build + all suites again (suppressions argued in tests/tsan.supp)
# Each suite's own output stays visible above the summary.
set -uo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}
passed=0
failed=0
log_dir=$(mktemp -d)

# How long each stage took, printed before the summary (CI's budget is 40 minutes).
stage_times=()
stage_name=""
stage_started=0
stage() {  # $1: the stage that starts now ("" to end the last one)
  [ -n "$stage_name" ] && stage_times+=("$stage_name $((SECONDS - stage_started)) s")
  stage_name=$1
  stage_started=$SECONDS
  [ -z "$1" ] || echo "== $1"
}

count_ctest() {  # $1: ctest log
  local line total fails
  line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests failed out of [0-9]+' "$1" | tail -n 1)
  if [ -z "$line" ]; then
    failed=$((failed + 1))
    return
  fi
  fails=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/' <<<"$line")
  total=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$line")
  passed=$((passed + total - fails))
  failed=$((failed + fails))
}

run_suite() {  # $1: preset
  local preset=$1 dir
  dir=$(jq -r --arg p "$preset" '.configurePresets[] | select(.name==$p) | .binaryDir' CMakePresets.json \
        | sed "s|\${sourceDir}|$PWD|")
  stage "build ($preset)"
  if ! { cmake --preset "$preset" >/dev/null && cmake --build "$dir" -j "$JOBS"; } >"$log_dir/build-$preset.log" 2>&1; then
    tail -n 60 "$log_dir/build-$preset.log"
    echo "build ($preset) failed"
    failed=$((failed + 1))
    return
  fi
  stage "tests ($preset)"
  (cd "$dir" && ctest --output-on-failure -j "$JOBS" --timeout 300) | tee "$log_dir/ctest-$preset.log"
  count_ctest "$log_dir/ctest-$preset.log"
}

stage "format check"
if clang-format --dry-run -Werror $(git ls-files '*.cpp' '*.h') 2>"$log_dir/format.log"; then
  passed=$((passed + 1))
else
  head -n 40 "$log_dir/format.log"
  failed=$((failed + 1))
fi

# ---- lint stage: scripts/lint.sh (make lint), one count: passed when it has no finding ---------
# clang-tidy with .clang-tidy over every src/**/*.cpp on JOBS cores (a configure-only clang tree,
# build-lint/, gives the compile database) and no src/ file over 400 lines. Its last line is
# "lint: N files, N findings"; the findings are printed above it. HERALD_SKIP_LINT=1 skips it.
if [ "${HERALD_SKIP_LINT:-0}" != "1" ]; then
  stage lint
  JOBS="$JOBS" bash scripts/lint.sh 2>&1 | tee "$log_dir/lint.log"
  if grep -qE '^lint: [0-9]+ files, 0 findings$' "$log_dir/lint.log"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
  fi
fi
# ---- end of lint stage ---------------------------------------------------------------------------

run_suite release

# ---- script stages: conformance, the Python client, the package ---------------------------------
# Each runs one script against build/herald of the release build above (HERALD_BIN overrides)
# and ends with one line "<name>: N passed, N failed"; no parsable line counts as one failure.
#   conformance   scripts/run-conformance.sh: independent clients (npm eventsource,
#                 eventsource-parser, @ag-ui/core), the JS client, Debian's Chromium
#                 (HERALD_SKIP_CONFORMANCE=1 skips it)
#   python-client scripts/run-python-client-tests.sh: clients/python against a real hub
#                 (HERALD_SKIP_PYTHON_CLIENT=1 skips it)
#   package       scripts/test-package.sh: the Debian package built from build/herald,
#                 installed into a temporary root and checked, and the Dockerfile checked
#                 against it (HERALD_SKIP_PACKAGE=1 skips it)
run_counted() {  # $1 name (the summary line's), $2 script
  local name=$1 script=$2 line
  stage "$name"
  HERALD_BIN="${HERALD_BIN:-$PWD/build/herald}" bash "$script" 2>&1 | tee "$log_dir/$name.log"
  line=$(grep -E "^$name: [0-9]+ passed, [0-9]+ failed\$" "$log_dir/$name.log" | tail -n 1)
  if [ -n "$line" ]; then
    passed=$((passed + $(sed -E "s/^$name: ([0-9]+) passed.*/\1/" <<<"$line")))
    failed=$((failed + $(sed -E 's/.* ([0-9]+) failed$/\1/' <<<"$line")))
  else
    failed=$((failed + 1))
  fi
}
[ "${HERALD_SKIP_CONFORMANCE:-0}" = "1" ] || run_counted conformance scripts/run-conformance.sh
[ "${HERALD_SKIP_PYTHON_CLIENT:-0}" = "1" ] || run_counted python-client scripts/run-python-client-tests.sh
if [ "${HERALD_SKIP_PACKAGE:-0}" != "1" ]; then
  stage "package (dependencies)"
  bash scripts/install-deps.sh --package >"$log_dir/package-deps.log" 2>&1 || tail -n 20 "$log_dir/package-deps.log"
  run_counted package scripts/test-package.sh
fi
# ---- end of the script stages --------------------------------------------------------------------

if [ "${HERALD_SKIP_SANITIZE:-0}" != "1" ]; then
  run_suite debug
fi

# ---- ThreadSanitizer stage (preset tsan: clang, -fsanitize=thread, build-tsan/) ------------------
# Every suite again, the whole of it, no test excluded: on the 2-core CI machine the tests take
# under 2 minutes and the build 13 (measured with one of the two cores busy elsewhere; 10 minutes
# of CPU time), so `make test` stays well inside CI's 40 (`docs/DECISIONS.md` "ThreadSanitizer").
# TSAN_OPTIONS is exported, so every process gets it, the `herald serve` children of the crash
# and cluster tests too: halt_on_error=1 ends a process at its first report (so a report in a
# test process fails that test); second_deadlock_stack=1 shows both stacks of a lock-order
# inversion; suppressions= the committed tests/tsan.supp, each entry argued there; log_path
# writes each report to $log_dir/tsan/report.<pid> instead of stderr, because a child's report
# would otherwise vanish in a passing test's hidden output (print_suppressions=0 keeps those
# files to reports). Every report file is printed below and counts as one failure.
# HERALD_SKIP_TSAN=1 skips the stage.
if [ "${HERALD_SKIP_TSAN:-0}" != "1" ]; then
  mkdir -p "$log_dir/tsan"
  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 print_suppressions=0"
  TSAN_OPTIONS+=" suppressions=$PWD/tests/tsan.supp log_path=$log_dir/tsan/report"
  export TSAN_OPTIONS
  run_suite tsan
  unset TSAN_OPTIONS
  for report in "$log_dir"/tsan/report.*; do
    [ -e "$report" ] || continue
    echo "== ThreadSanitizer report ${report##*/}"
    cut -c1-400 "$report"  # Asio's template names make single frames kilobytes long
    failed=$((failed + 1))
  done
fi
# ---- end of ThreadSanitizer stage ----------------------------------------------------------------

stage ""
echo "== stage times"
printf '%s\n' "${stage_times[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
