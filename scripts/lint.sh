#!/usr/bin/env bash
# make lint: the static checks, each finding fatal. Ends with one line, "lint: N files, N findings".
#   1. clang-tidy (Debian's, v14) with the repository's .clang-tidy over every src/**/*.cpp, in
#      parallel on JOBS cores (default nproc); the headers under src/ are checked through them
#      (HeaderFilterRegex), each finding in a header counted once.
#   2. size: no source file under src/ over kMaxLines (400) lines, except the table files listed
#      below with the reason (the function-size rule is clang-tidy's readability-function-size).
# The compile database comes from a configure-only clang++ tree, build-lint/ (HERALD_LINT_DIR):
# clang-tidy parses as clang does, and the release tree's GCC-only flags (-Wno-restrict) would be
# unknown to it. Configuring also generates the embedded-file headers (app/dashboard.h,
# http/openapi_document.h) the sources include; nothing is compiled.
set -uo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}
lint_dir=${HERALD_LINT_DIR:-build-lint}
max_lines=400

# Files allowed over max_lines, with the reason. Tables only: data the reader scans, not logic.
declare -A size_exempt=()

log_dir=$(mktemp -d)
trap 'rm -rf "$log_dir"' EXIT

if ! cmake -S . -B "$lint_dir" -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Release \
    -DHERALD_BUILD_TESTS=OFF -DHERALD_BUILD_BENCH=OFF >"$log_dir/configure.log" 2>&1; then
  tail -n 30 "$log_dir/configure.log"
  echo "lint: configure of $lint_dir failed"
  exit 1
fi

mapfile -t sources < <(git ls-files 'src/*.cpp')

# One clang-tidy per file, its output kept apart (no interleaving), then the findings of all.
# A file clang-tidy could not process (a compile error, a file missing from the database)
# reports an error diagnostic and counts as a finding too; so does a run that failed without one.
printf '%s\n' "${sources[@]}" | xargs -P "$JOBS" -I{} sh -c \
  'out="$3/$(echo "$2" | tr / @)"; clang-tidy --quiet --use-color=false -p "$1" "$2" >"$out.out" 2>&1
   echo $? >"$out.rc"' _ "$lint_dir" {} "$log_dir"

diagnostic='^[^ ]+:[0-9]+:[0-9]+: (warning|error): '
for out in "$log_dir"/*.out; do
  if [ "$(cat "${out%.out}.rc")" != 0 ] && ! grep -qE "$diagnostic" "$out"; then
    echo "$(basename "${out%.out}" | tr @ /): error: clang-tidy failed: $(tail -n 1 "$out")"
  fi
  grep -E "$diagnostic" "$out" | sed "s|^$PWD/||"
done | sort -u >"$log_dir/findings"
# Each finding with its notes and code excerpt, for the reader (bounded).
if [ -s "$log_dir/findings" ]; then
  for out in "$log_dir"/*.out; do
    grep -qE "$diagnostic" "$out" || continue
    grep -vE '^[0-9]+ warnings? (generated|treated)|^Suppressed|^Use -header-filter' "$out"
  done | sed "s|^$PWD/||" | head -n 400
fi

size_findings=0
for file in $(git ls-files 'src/*.cpp' 'src/*.h'); do
  lines=$(wc -l <"$file")
  if [ "$lines" -gt "$max_lines" ] && [ -z "${size_exempt[$file]:-}" ]; then
    echo "$file: $lines lines, over $max_lines (split it by responsibility, or list it as a table)"
    size_findings=$((size_findings + 1))
  fi
done

tidy_findings=$(wc -l <"$log_dir/findings")
if [ "$tidy_findings" -gt 0 ]; then
  echo "== clang-tidy findings"
  cat "$log_dir/findings"
fi
findings=$((tidy_findings + size_findings))
echo "lint: ${#sources[@]} files, $findings findings"
[ "$findings" -eq 0 ]
