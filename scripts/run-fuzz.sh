#!/usr/bin/env bash
# Builds the libFuzzer targets (CMake preset `fuzz`: clang, ASan+UBSan, build-fuzz/) and runs
# each for FUZZ_SECONDS (default 60) on its committed corpus, one after the other, on one core.
#   FUZZ_SECONDS=600 FUZZ_TARGETS="jwt config" bash scripts/run-fuzz.sh
# fuzz/corpus/<name> and fuzz/regressions/<name> are only read: new inputs go to the scratch
# corpus build-fuzz/corpus/<name>, crashes, timeouts and leaks to build-fuzz/crashes/<name>/, the
# full log to build-fuzz/<name>.log. FUZZ_FLAGS adds libFuzzer flags (e.g. -max_len=4096).
# A run stops at its first find; FUZZ_KEEP_GOING=1 runs the whole time instead (libFuzzer's
# -fork=1, still one process at a time), saving every distinct find: for a known, unfixed bug.
# To keep what a run found, minimised, in the committed corpus (-use_counters=0: the inputs that
# reach new edges, not every new hit count, which keeps a corpus at a few hundred small files):
#   build-fuzz/fuzz/<name>_fuzz -merge=1 -use_counters=0 fuzz/corpus/<name> build-fuzz/corpus/<name>
# Prints one line per target and exits 1 if any target found a problem.
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
targets=${FUZZ_TARGETS:-http_request event_validation jwt last_event_id config}
jobs=${JOBS:-2}

build_targets=()
for t in $targets; do build_targets+=("${t}_fuzz"); done
mkdir -p build-fuzz
if ! { cmake --preset fuzz && cmake --build build-fuzz -j "$jobs" --target "${build_targets[@]}"; } \
    >build-fuzz/build.log 2>&1; then
  tail -n 40 build-fuzz/build.log
  echo "fuzz: build failed (build-fuzz/build.log)"
  exit 1
fi

# A sanitizer report with its stack; UBSan stops at the first (the preset builds without recovery).
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
found=0
for t in $targets; do
  scratch=build-fuzz/corpus/$t
  crashes=build-fuzz/crashes/$t
  log=build-fuzz/$t.log
  mkdir -p "$scratch" "$crashes"
  inputs=("$scratch" "fuzz/corpus/$t")
  [ -d "fuzz/regressions/$t" ] && inputs+=("fuzz/regressions/$t")
  options=(-max_total_time="$seconds" -timeout=10 -print_final_stats=1
           -artifact_prefix="$crashes/")
  [ -f "fuzz/$t.dict" ] && options+=(-dict="fuzz/$t.dict")
  [ "${FUZZ_KEEP_GOING:-0}" = 1 ] &&
    options+=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
  marker=build-fuzz/.$t.started
  touch "$marker"
  # shellcheck disable=SC2086  # FUZZ_FLAGS is a list of flags
  "build-fuzz/fuzz/${t}_fuzz" "${options[@]}" ${FUZZ_FLAGS:-} "${inputs[@]}" >"$log" 2>&1
  status=$?
  mapfile -t artifacts < <(find "$crashes" -type f -newer "$marker")
  finds=${#artifacts[@]}
  # libFuzzer's last status line: "#<runs>\tDONE   cov: … ft: … corp: <files>/<size> …", or with
  # -fork "#<runs>: cov: … ft: … corp: <files> …".
  last=$(grep -E '^#[0-9]+(:|[[:space:]]+DONE) ' "$log" | tail -n 1)
  runs=$(grep -oE '^#[0-9]+' <<<"$last" | tr -d '#')
  [ -n "$runs" ] || runs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}')
  figures=$(grep -oE '(cov|ft): [0-9]+|corp: [0-9]+(/[0-9]+[a-zA-Z]*)?' <<<"$last" | paste -sd ' ')
  summary="${seconds}s, ${runs:-?} runs, ${figures:-no final status line}"
  if [ "$status" -eq 0 ] && [ "$finds" -eq 0 ]; then
    echo "$t: ok, $summary"
  else
    found=1
    echo "$t: FOUND $finds PROBLEM(S) (exit $status), $summary: $crashes/, $log"
    # What each find is (replayed: -fork logs live in its jobs), one line per distinct kind.
    for artifact in "${artifacts[@]}"; do
      timeout 60 "build-fuzz/fuzz/${t}_fuzz" "$artifact" 2>&1 |
        grep -m 1 -E 'fuzz invariant broken|runtime error|ERROR: (Address|Leak|libFuzzer)' |
        sed -E 's/^==[0-9]+==//; s/0x[0-9a-f]+/0x…/g; s/-?[0-9]{5,}/N/g'
    done | sort | uniq -c | sed 's/^/  /'
  fi
done
exit "$found"
