#!/usr/bin/env bash
# Installs the Debian 12 packages Herald needs to build, test and benchmark, when missing.
# Idempotent and non-interactive: safe to call from `make run`, `make test` and CI.
set -euo pipefail

build_pkgs=(
  build-essential cmake ninja-build pkg-config git
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libsqlite3-dev libpq-dev libssl-dev libjwt-dev
  postgresql-15 postgresql-client-15
  libspdlog-dev libfmt-dev libcli11-dev libtomlplusplus-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang clang-format clang-tidy libclang-rt-14-dev  # clang-tidy: make lint (scripts/lint.sh)
  openssl curl jq
  python3  # /usr/bin/python3 runs the Python client's tests (scripts/run-python-client-tests.sh)
)
extra_pkgs=()
for arg in "$@"; do
  case "$arg" in
    --bench) extra_pkgs+=(nginx libnginx-mod-nchan) ;;
    # make package and scripts/test-package.sh: dpkg-shlibdeps, the manual page from --help,
    # lintian, systemd-analyze for the unit, man to render the page.
    --package) extra_pkgs+=(dpkg-dev help2man lintian systemd man-db) ;;
    --conformance)
      # Node.js may already come from outside Debian (the machines' Node 20 is a nodesource
      # build whose nodejs package conflicts with Debian's npm): install Debian's only when the
      # commands are missing.
      command -v node >/dev/null 2>&1 || extra_pkgs+=(nodejs)
      command -v npm >/dev/null 2>&1 || extra_pkgs+=(npm)
      extra_pkgs+=(chromium) ;;
    *) echo "install-deps: unknown option $arg" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${build_pkgs[@]}" "${extra_pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
