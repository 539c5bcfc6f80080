#!/usr/bin/env bash
# Tests the Debian package and the Dockerfile (docs/OPERATIONS.md "Packages").
#   scripts/test-package.sh [DEB]
# Without DEB it builds the package from build/herald (HERALD_BIN overrides) with
# packaging/build-deb.sh into a temporary directory. The package is then installed into a
# temporary root with `dpkg --root` (its maintainer scripts run, chrootless, and touch nothing
# outside that root), and checked there: the binary's --version and --help, the unit with
# `systemd-analyze verify` and `security`, the configuration with `herald check-config`, the
# manual page with `man -l`, lintian, a real start of the packaged hub with its packaged
# configuration, and removal and purge. The Dockerfile cannot be built here (no Docker daemon,
# no network): it is checked against the package (its runtime libraries are the package's
# Depends) and its health check is run against the packaged hub.
# Each check prints "ok: …" or "FAIL: …"; the last line is "package: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
passed=0
failed=0
work=$(mktemp -d)
hub_pid=""
cleanup() {
  if [ -n "$hub_pid" ]; then kill "$hub_pid" 2>/dev/null; wait "$hub_pid" 2>/dev/null; fi
  rm -rf "$work"
}
trap cleanup EXIT

pass() { echo "ok: $1"; passed=$((passed + 1)); }
fail() { echo "FAIL: $1"; failed=$((failed + 1)); }
check() {  # $1: what; rest: a command that must succeed
  local what=$1
  shift
  if "$@" >"$work/check.log" 2>&1; then
    pass "$what"
  else
    fail "$what"
    tail -n 40 "$work/check.log" | sed 's/^/    /'
  fi
}
finish() {
  echo "package: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit
}

# ---- the package ---------------------------------------------------------------------------------
if [ $# -ge 1 ]; then
  deb=$(realpath "$1")
  [ -f "$deb" ] && pass "package given: $deb" || { fail "no package at $1"; finish; }
else
  bin=${HERALD_BIN:-$repo/build/herald}
  if [ ! -x "$bin" ]; then
    fail "no binary at $bin (make build, or HERALD_BIN=…)"
    finish
  fi
  if deb=$(timeout 120 bash packaging/build-deb.sh "$bin" "$work/out" 2>"$work/build.log"); then
    pass "packaging/build-deb.sh built $(basename "$deb")"
  else
    fail "packaging/build-deb.sh"
    sed 's/^/    /' "$work/build.log" | tail -n 30
    finish
  fi
fi
field() { dpkg-deb --field "$deb" "$1"; }
version=$(field Version)
depends=$(field Depends)

expected_files=(
  ./usr/bin/herald ./lib/systemd/system/herald.service ./etc/herald/herald.toml
  ./etc/herald/herald.env ./usr/share/man/man1/herald.1.gz ./usr/share/doc/herald/copyright
  ./usr/share/doc/herald/changelog.gz ./usr/share/doc/herald/OPERATIONS.md
)
contents_ok() {
  local listing
  listing=$(dpkg-deb --contents "$deb") || return 1
  for f in "${expected_files[@]}"; do
    grep -qE "^[-rwx]{10} root/root .* ${f//./\\.}$" <<<"$listing" \
      || { echo "missing $f"; return 1; }
  done
  # The environment file holds the secret: root's alone.
  grep -qE '^-rw------- root/root .* \./etc/herald/herald\.env$' <<<"$listing" \
    || { echo "herald.env is not -rw------- root/root"; return 1; }
  dpkg-deb --info "$deb" conffiles | sort \
    | diff - <(printf '/etc/herald/herald.env\n/etc/herald/herald.toml\n')
}
check "the package holds the binary, unit, configuration (conffiles, env 0600), man page, docs" \
  contents_ok

# Depends: every library the binary needs (its DT_NEEDED entries) belongs to a package that
# Depends names, and Depends names no other; found here with ldd and dpkg -S, independently of
# dpkg-shlibdeps, which build-deb.sh uses. A name may be a virtual package that the library's
# package provides (libspdlog1.10 provides libspdlog1.10-fmt9, the name its shlibs file gives).
dep_names() { tr ',' '\n' <<<"$depends" | sed -E 's/\(.*\)//; s/ //g' | grep -v '^$' | sort -u; }
dep_packages() {  # the installed packages that are, or provide, the Depends names
  local name provider
  for name in $(dep_names); do
    if dpkg-query -W -f='${Status}\n' "$name" 2>/dev/null | grep -q "install ok installed"; then
      echo "$name"
    else
      provider=$(dpkg-query -W -f='${Package} ${Provides}\n' \
                 | awk -v n="$name" '{ for (i = 2; i <= NF; i++) { p = $i; sub(/,$/, "", p)
                                       if (p == n) print $1 } }' | head -n 1)
      echo "${provider:-not-installed:$name}"
    fi
  done | sort -u
}
owner() {  # $1: a file: the package that installed it
  local line
  line=$(dpkg -S "$1" 2>/dev/null | grep -v '^diversion' | head -n 1) || return 1
  [ -n "$line" ] && echo "${line%%:*}"
}
needed_packages() {  # $1: binary
  local lib path
  for lib in $(readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
    path=$(ldd "$1" | awk -v l="$lib" '$1 == l { print $3 }')
    [ -n "$path" ] || { echo "unresolved:$lib"; continue; }
    # Under merged /usr a library may be registered under /lib or /usr/lib: try both names.
    owner "$(realpath "$path")" || owner "$path" || echo "unowned:$path"
  done | sort -u
}

# ---- install into a temporary root ---------------------------------------------------------------
root="$work/root"
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/var/lib/dpkg/triggers"
touch "$root/var/lib/dpkg/status" "$root/var/lib/dpkg/available"
dpkg_root() {
  timeout 60 dpkg --root="$root" --log="$work/dpkg.log" --force-script-chrootless \
    --force-depends --force-not-root "$@"
}
installed_ok() {
  dpkg_root --install "$deb" || return 1
  dpkg-query --admindir="$root/var/lib/dpkg" -W -f='${Status} ${Version}\n' herald \
    | grep -qx "install ok installed $version"
}
check "dpkg --root installs it into a temporary root (maintainer scripts included)" installed_ok
herald="$root/usr/bin/herald"
if [ ! -x "$herald" ]; then
  fail "no /usr/bin/herald in the temporary root"
  finish
fi
check "Depends names exactly the packages of the binary's libraries (ldd, dpkg -S)" \
  diff <(dep_packages) <(needed_packages "$herald")

check "herald --version prints 'herald $version'" \
  bash -c '[ "$("$1" --version)" = "herald $2" ]' _ "$herald" "$version"
help_ok() {
  local help
  help=$("$herald" --help) || return 1
  for want in "Usage: herald " serve check-config token tail publish --version "Exit status:" \
              "Environment:" "Examples:" HERALD_JWT_SECRET; do
    grep -qF -- "$want" <<<"$help" || { echo "--help lacks '$want'"; return 1; }
  done
  # Each subcommand's help, and the configuration rules after serve's options.
  for command in serve check-config token tail publish; do
    help=$("$herald" "$command" --help) || return 1
    grep -q "^Usage: herald $command " <<<"$help" || { echo "herald $command --help"; return 1; }
  done
  grep -q 'HERALD_<OPTION_IN_CAPS>' <<<"$("$herald" serve --help)"
}
check "herald --help (and each subcommand's) documents commands, exit status, environment" help_ok

# ---- the unit ------------------------------------------------------------------------------------
unit="$root/lib/systemd/system/herald.service"
# systemd-analyze --root resolves the unit's ExecStart and its dependencies (sysinit.target …)
# inside the root: the system's own units are copied in beside the packaged one, and MANPATH
# makes its man:herald(1) check find the packaged page.
cp -an /lib/systemd/system/. "$root/lib/systemd/system/"
verify_ok() {
  local out
  out=$(cd "$root" && MANPATH="$root/usr/share/man" timeout 60 \
        systemd-analyze verify --root="$root" lib/systemd/system/herald.service 2>&1) || {
    echo "$out"
    return 1
  }
  [ -z "$out" ] || { echo "warnings: $out"; return 1; }
}
check "systemd-analyze verify: the unit, its ExecStart and man:herald(1), without a warning" \
  verify_ok
# The exposure score, 0 (locked down) to 10; this unit scores 1.2. Above 2 means a setting
# below was dropped or weakened.
check "systemd-analyze security --offline: exposure at most 2.0" \
  bash -c 'cd "$1" && timeout 60 systemd-analyze security --offline=true --root="$1" \
           --threshold=20 lib/systemd/system/herald.service' _ "$root"
unit_ok() {
  local want
  for want in DynamicUser=yes StateDirectory=herald NoNewPrivileges=yes ProtectSystem=strict \
              ProtectHome=yes PrivateTmp=yes PrivateDevices=yes CapabilityBoundingSet= \
              'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' SystemCallFilter=@system-service \
              Restart=on-failure EnvironmentFile=/etc/herald/herald.env; do
    grep -qx -- "$want" "$unit" || { echo "no '$want'"; return 1; }
  done
  # ExecStart: the packaged binary and configuration, the data in the state directory.
  local exec='ExecStart=/usr/bin/herald serve --config /etc/herald/herald.toml'
  grep -qx "$exec --data-dir /var/lib/herald" "$unit" || { echo "ExecStart"; return 1; }
  local nofile
  nofile=$(sed -n 's/^LimitNOFILE=//p' "$unit")
  [ "${nofile:-0}" -ge 65536 ] || { echo "LimitNOFILE=$nofile"; return 1; }
}
check "the unit: dynamic user, state directory, sandbox, LimitNOFILE >= 65536, packaged paths" \
  unit_ok

# ---- the configuration ---------------------------------------------------------------------------
config="$root/etc/herald/herald.toml"
secret=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
check "herald.toml without a secret: check-config refuses it (exit 2, 'no token key')" \
  bash -c 'env -u HERALD_JWT_SECRET "$1" check-config --config "$2" >/dev/null 2>"$3/err"; \
           [ $? -eq 2 ] && grep -q "no token key" "$3/err"' _ "$herald" "$config" "$work"
config_ok() {
  local out key value
  out=$(HERALD_JWT_SECRET=$secret "$herald" check-config --config "$config") || return 1
  # Every key the file sets is in force, with the file's value.
  while IFS= read -r line; do
    key=$(sed -E 's/^([a-z0-9-]+) *=.*/\1/' <<<"$line")
    value=$(sed -E 's/^[a-z0-9-]+ *= *//' <<<"$line")
    grep -qxF -- "$key=$value" <<<"$out" || { echo "check-config lacks $key=$value"; return 1; }
  done < <(grep -E '^[a-z]' "$config")
  # The packaged environment file sets no secret of its own.
  ! grep -qE '^[^#]' "$root/etc/herald/herald.env"
}
check "herald.toml with HERALD_JWT_SECRET: check-config accepts it, every key in force" config_ok

# ---- the manual page -----------------------------------------------------------------------------
man_ok() {
  local page="$root/usr/share/man/man1/herald.1.gz" text option
  text=$(MANWIDTH=100 timeout 30 man --warnings -l "$page" 2>"$work/man.err" | col -b) \
    || return 1
  [ ! -s "$work/man.err" ] || { cat "$work/man.err"; return 1; }
  for section in NAME SYNOPSIS DESCRIPTION OPTIONS COMMANDS "EXIT STATUS" ENVIRONMENT FILES \
                 EXAMPLES "SEE ALSO"; do
    grep -qx "$section" <<<"$text" || { echo "no section $section"; return 1; }
  done
  # No option of any subcommand is missing from the page.
  for command in serve token tail publish; do
    for option in $("$herald" "$command" --help | grep -oE '^  (-[a-z],)?--[a-z0-9-]+' \
                    | sed 's/.*--/--/'); do
      grep -qF -- "$option" <<<"$text" || { echo "no $option ($command)"; return 1; }
    done
  done
}
check "man -l renders herald(1) without a warning, with every section and option" man_ok

# ---- lintian -------------------------------------------------------------------------------------
# Errors and warnings fail; the few tags overridden in packaging/debian/lintian-overrides are
# argued there.
if command -v lintian >/dev/null 2>&1; then
  timeout 300 lintian --fail-on error,warning --display-info "$deb" >"$work/lintian.log" 2>&1
  lintian_rc=$?
  sed 's/^/    lintian: /' "$work/lintian.log"
  if [ "$lintian_rc" -eq 0 ]; then pass "lintian: no error or warning"; else fail "lintian"; fi
else
  echo "skipped: lintian is not installed (scripts/install-deps.sh --package)"
fi

# ---- the packaged hub, started as the unit would start it ---------------------------------------
data="$work/data"
mkdir -p "$data"
: >"$work/hub.log"
HERALD_JWT_SECRET=$secret "$herald" serve --config "$config" --data-dir "$data" \
  --listen 127.0.0.1:0 >"$work/hub.log" 2>&1 &
hub_pid=$!
url=""
for _ in $(seq 1 100); do
  url=$(grep -oE 'listening on http://[0-9.]+:[0-9]+' "$work/hub.log" | sed 's/listening on //')
  [ -n "$url" ] && break
  kill -0 "$hub_pid" 2>/dev/null || break
  sleep 0.1
done
if [ -n "$url" ]; then
  pass "the packaged hub starts with the packaged configuration ($url)"
else
  fail "the packaged hub did not start"
  sed 's/^/    /' "$work/hub.log" | tail -n 10
fi
port=${url##*:}

# ---- the Dockerfile ------------------------------------------------------------------------------
# One logical line per instruction; the stage number before each (0: build, 1: runtime).
docker_lines() {
  sed -e ':a' -e '/\\$/N; s/\\\n//; ta' Dockerfile | grep -vE '^\s*(#|$)' \
    | awk '/^FROM /{ stage++ } { print stage - 1 "\t" $0 }'
}
apt_packages() {  # $1: stage: the packages its `apt-get install` names
  docker_lines | awk -F'\t' -v s="$1" '$1 == s' | grep -oE 'apt-get install [^&]*' \
    | tr ' ' '\n' | grep -vE '^(apt-get|install|-.*|)$' | sort -u
}
install_deps_build_packages() {
  sed -n '/^build_pkgs=(/,/^)/p' scripts/install-deps.sh | sed '1d;$d' | tr ' ' '\n' \
    | grep -v '^$' | sort -u
}
check "Dockerfile: the runtime stage installs exactly the package's Depends" \
  diff <(apt_packages 1) <(dep_names)
check "Dockerfile: the build stage installs only build packages of scripts/install-deps.sh" \
  bash -c '[ -n "$1" ] && [ -z "$(comm -23 <(printf "%s\n" $1) <(printf "%s\n" $2))" ]' _ \
  "$(apt_packages 0)" "$(install_deps_build_packages)"
# The build stage's context: the files its COPY lines name, each let through by .dockerignore,
# copied as Docker would; its cmake configure command must succeed on them alone (the build
# itself is left out: minutes of both cores, and the same sources as build/herald's).
docker_configure_ok() {
  local ctx="$work/docker-context" line dest configure
  local -a words
  mkdir -p "$ctx"
  while IFS= read -r line; do
    read -r -a words <<<"${line#COPY }"
    dest=${words[-1]}
    unset 'words[-1]'
    for source in "${words[@]}"; do
      grep -qxF "!$source" .dockerignore || { echo ".dockerignore leaves out $source"; return 1; }
    done
    # As Docker does: a destination ending in / is a directory; missing parents are made.
    if [[ "$dest" == */ ]]; then mkdir -p "$ctx/$dest"; else mkdir -p "$(dirname "$ctx/$dest")"; fi
    cp -r "${words[@]}" "$ctx/$dest" || return 1
  done < <(docker_lines | sed -n 's/^0\t\(COPY [^-].*\)$/\1/p')
  configure=$(docker_lines | sed -n 's/^0\tRUN \(cmake --preset [^&]*\).*/\1/p')
  [ -n "$configure" ] || { echo "no cmake --preset in the build stage"; return 1; }
  (cd "$ctx" && timeout 120 nice $configure)
}
check "Dockerfile: the build stage's files (.dockerignore allows them) configure with its cmake" \
  docker_configure_ok
dockerfile_ok() {
  local lines
  lines=$(docker_lines)
  for want in $'0\tFROM debian:12 AS build' $'1\tFROM debian:12-slim' $'1\tUSER 10001:10001' \
              $'1\tVOLUME /var/lib/herald' $'1\tEXPOSE 8080' \
              $'1\tENTRYPOINT ["herald", "serve"]'; do
    grep -qxF -- "$want" <<<"$lines" || { echo "no '${want#*$'\t'}'"; return 1; }
  done
  grep -qE $'^1\tRUN .*useradd --system --uid 10001 ' <<<"$lines" \
    || { echo "no user 10001"; return 1; }
  grep -qE $'^1\tENV .*HERALD_LISTEN=0\\.0\\.0\\.0:8080' <<<"$lines" \
    || { echo "no HERALD_LISTEN"; return 1; }
}
check "Dockerfile: Debian 12 stages, non-root user, volume, port, entrypoint" dockerfile_ok
# The health check's command, run against the packaged hub (HERALD_LISTEN naming its port), must
# succeed; once the hub has stopped, fail.
healthcheck=$(docker_lines | sed -n 's/^1\tHEALTHCHECK .* CMD \(\[.*\]\)$/\1/p')
health() {  # $1: port
  [ -n "$healthcheck" ] && [ -n "$1" ] || { echo "no HEALTHCHECK CMD [...], or no hub"; return 2; }
  local -a argv
  mapfile -t argv < <(jq -r '.[]' <<<"$healthcheck")
  [ ${#argv[@]} -gt 0 ] || return 2
  HERALD_LISTEN=127.0.0.1:$1 timeout 5 "${argv[@]}"
}
check "Dockerfile: HEALTHCHECK passes against the packaged hub" health "$port"

if [ -n "$hub_pid" ]; then
  kill -TERM "$hub_pid"
  status=""
  for _ in $(seq 1 150); do
    kill -0 "$hub_pid" 2>/dev/null || { wait "$hub_pid"; status=$?; break; }
    sleep 0.1
  done
  hub_pid=""
  [ "$status" = 0 ] && pass "the packaged hub drains on SIGTERM and exits 0" \
                   || fail "the packaged hub on SIGTERM: exit '${status:-still running}'"
fi
# Docker reads 1 as unhealthy (2 is reserved).
health_down() { health "$1"; [ $? -eq 1 ]; }
check "Dockerfile: HEALTHCHECK fails (exit 1) once the hub has stopped" health_down "$port"
# ---- removal -------------------------------------------------------------------------------------
removed_ok() {
  dpkg_root --remove herald || return 1
  [ ! -e "$root/usr/bin/herald" ] || { echo "binary left"; return 1; }
  [ -e "$root/etc/herald/herald.toml" ] || { echo "remove deleted a conffile"; return 1; }
  dpkg_root --purge herald || return 1
  [ ! -e "$root/etc/herald" ] || { echo "purge left /etc/herald"; return 1; }
}
check "dpkg --remove keeps the configuration, --purge deletes it" removed_ok

finish
