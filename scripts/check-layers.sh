#!/usr/bin/env bash
# The layer rule of docs/ARCHITECTURE.md "Layers", checked on the sources: a library includes
# Herald headers only from its own layer and the layers below it, and http does not include
# store headers (it reaches the store through the hub). Prints each offending line; exit 1 if
# any, else 0.
#   scripts/check-layers.sh [SRC_DIR]     (default: src)
#   scripts/check-layers.sh --self-test   (shows that an upward include fails the check)
set -euo pipefail

allowed() {  # $1: layer → the layers its files may include
  case "$1" in
    core) echo "core" ;;
    auth) echo "core auth" ;;
    store) echo "core store" ;;
    hub) echo "core auth store hub" ;;
    http) echo "core auth hub http" ;;
    app) echo "core auth store hub http app" ;;
    *) echo "" ;;
  esac
}

check() {  # $1: source dir
  local src=$1 bad=0 layer line included
  for dir in "$src"/*/; do
    layer=$(basename "$dir")
    local ok
    ok=" $(allowed "$layer") "
    if [ "$ok" = "  " ]; then
      echo "$dir: not a known layer (add it to scripts/check-layers.sh and ARCHITECTURE.md)"
      bad=1
      continue
    fi
    while IFS= read -r line; do
      included=$(sed -E 's/.*#include "([a-z_]+)\/.*/\1/' <<<"${line#*:}")
      if [[ $ok != *" $included "* ]]; then
        echo "$line   ($layer may include only:$(allowed "$layer" | sed 's/^/ /'))"
        bad=1
      fi
    done < <(grep -rnE '^#include "[a-z_]+/' "$dir" --include='*.h' --include='*.cpp' \
               --include='*.in')
  done
  return $bad
}

if [ "${1:-}" = "--self-test" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/src/core" "$tmp/src/http" "$tmp/src/hub"
  echo '#include "core/ids.h"' >"$tmp/src/hub/fine.cpp"
  echo '#include "store/event_store.h"' >>"$tmp/src/hub/fine.cpp"
  if ! check "$tmp/src" >/dev/null; then echo "self-test: a clean tree failed"; exit 1; fi
  echo '#include "hub/hub.h"' >"$tmp/src/core/upward.h"
  if check "$tmp/src" >/dev/null; then echo "self-test: core including hub passed"; exit 1; fi
  rm "$tmp/src/core/upward.h"
  echo '#include "store/sqlite_store.h"' >"$tmp/src/http/around.cpp"
  if check "$tmp/src" >/dev/null; then echo "self-test: http including store passed"; exit 1; fi
  echo "self-test: upward and around-the-hub includes are caught"
  exit 0
fi

src=${1:-"$(dirname "$0")/../src"}
if check "$src"; then
  echo "layers: every include points down"
else
  exit 1
fi
