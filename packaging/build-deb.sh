#!/usr/bin/env bash
# Builds the Debian package of a built herald binary with dpkg-deb, from a staging directory
# (why not CPack: docs/DECISIONS.md "Packages"), and prints the package's path.
#   packaging/build-deb.sh BIN OUTDIR
# The version is the binary's own (`herald --version`, from CMakeLists.txt's project version),
# the architecture dpkg's, Depends what dpkg-shlibdeps finds the binary needs. The package holds
#   /usr/bin/herald                      the binary, stripped
#   /lib/systemd/system/herald.service   packaging/systemd/herald.service
#   /etc/herald/herald.toml              packaging/herald.toml (conffile)
#   /etc/herald/herald.env               packaging/herald.env (conffile, mode 0600: the secret)
#   /usr/share/man/man1/herald.1.gz      built from --help by packaging/man/make-manpage.sh
#   /usr/share/doc/herald/               copyright, changelog, OPERATIONS.md
#   /usr/share/lintian/overrides/herald  packaging/debian/lintian-overrides, each one argued
# HERALD_DEB_MAINTAINER overrides the Maintainer field; SOURCE_DATE_EPOCH (default: the last
# commit's time) dates the changelog and the manual page.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 BIN OUTDIR" >&2; exit 2; }
umask 022
bin=$(realpath "$1")
outdir=$(realpath "$2")
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
maintainer=${HERALD_DEB_MAINTAINER:-Herald maintainers <herald@example.org>}
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
  SOURCE_DATE_EPOCH=$(git -C "$repo" log -1 --format=%ct 2>/dev/null || date +%s)
fi
export SOURCE_DATE_EPOCH

version_line=$("$bin" --version)
version=${version_line#herald }
if [ "$version_line" = "$version" ] || ! [[ "$version" =~ ^[0-9][A-Za-z0-9.+~]*$ ]]; then
  echo "build-deb: '$bin --version' printed '$version_line', not 'herald VERSION'" >&2
  exit 1
fi
arch=$(dpkg --print-architecture)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# dpkg-shlibdeps wants the package's files under debian/PACKAGE and a debian/control beside.
stage="$work/debian/herald"
mkdir -p "$stage/DEBIAN"

install -D -m 0755 "$bin" "$stage/usr/bin/herald"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$stage/usr/bin/herald"
install -D -m 0644 "$here/systemd/herald.service" "$stage/lib/systemd/system/herald.service"
install -D -m 0644 "$here/herald.toml" "$stage/etc/herald/herald.toml"
install -D -m 0600 "$here/herald.env" "$stage/etc/herald/herald.env"

mkdir -p "$stage/usr/share/man/man1"
bash "$here/man/make-manpage.sh" "$stage/usr/bin/herald" "$stage/usr/share/man/man1/herald.1"
gzip -9n "$stage/usr/share/man/man1/herald.1"

doc="$stage/usr/share/doc/herald"
install -D -m 0644 "$here/debian/copyright" "$doc/copyright"
install -m 0644 "$repo/docs/OPERATIONS.md" "$doc/OPERATIONS.md"
install -D -m 0644 "$here/debian/lintian-overrides" "$stage/usr/share/lintian/overrides/herald"
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
{
  echo "herald ($version) unstable; urgency=medium"
  echo
  echo "  * Built from commit $commit of the Herald repository."
  echo
  echo " -- $maintainer  $(date -u -R -d "@$SOURCE_DATE_EPOCH")"
} | gzip -9n >"$doc/changelog.gz"
chmod 0644 "$doc/changelog.gz"

printf 'Source: herald\n\nPackage: herald\nArchitecture: any\n' >"$work/debian/control"
depends=$(cd "$work" && dpkg-shlibdeps -O -e debian/herald/usr/bin/herald 2>"$work/shlibdeps.log" \
          | sed -n 's/^shlibs:Depends=//p') || { cat "$work/shlibdeps.log" >&2; exit 1; }
[ -n "$depends" ] || { echo "build-deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }
installed_size=$(du -k -s --exclude=DEBIAN "$stage" | cut -f1)

sed -e "s|@VERSION@|$version|" -e "s|@ARCH@|$arch|" -e "s|@MAINTAINER@|$maintainer|" \
    -e "s|@INSTALLED_SIZE@|$installed_size|" -e "s|@DEPENDS@|$depends|" \
    "$here/debian/control.in" >"$stage/DEBIAN/control"
printf '/etc/herald/herald.toml\n/etc/herald/herald.env\n' >"$stage/DEBIAN/conffiles"
for script in postinst prerm postrm; do
  install -m 0755 "$here/debian/$script" "$stage/DEBIAN/$script"
done
(cd "$stage" && find . -type f ! -path './DEBIAN/*' ! -path './etc/*' -printf '%P\0' | sort -z \
   | xargs -0 md5sum >DEBIAN/md5sums)
chmod 0644 "$stage/DEBIAN/md5sums" "$stage/DEBIAN/control" "$stage/DEBIAN/conffiles"

mkdir -p "$outdir"
deb="$outdir/herald_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "$deb"
