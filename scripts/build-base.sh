#!/usr/bin/env bash
# Builds a local stand-in for gcr.io/distroless/python3-debian13:nonroot from Debian packages and
# imports it into Docker; prints the image reference on stdout.
#
# No container registry is reachable from CI or developer machines here, but Debian's archive is.
# The stand-in keeps what the images depend on from the real base: Debian 13's Python 3.13 at
# /usr/bin/python3.13 (with python3 and python links), the nonroot user 65532, LANG=C.UTF-8, and
# no shell, no package manager, no other executable at all. The packages are only extracted
# (mmdebstrap's extract variant runs no maintainer script), then everything in the bin and sbin
# directories but the interpreter is deleted. Per-package metadata stays in /var/lib/dpkg/status.d,
# as in distroless, so SBOM and vulnerability scanners still see the Debian packages.
#
# The tag is a hash of this script: an unchanged script reuses the imported image (about 30 s to
# build otherwise). Usage: build-base.sh [--force]
set -euo pipefail

suite=trixie
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
python=python3.13
repo=honeypods-base
# What distroless' python3 image carries on top of its cc base (libc, libgcc, libstdc++, libssl),
# for Python 3.13; the extract variant adds their hard dependencies.
packages=(
  "$python-minimal" "lib$python-stdlib" libgcc-s1 libstdc++6 libssl3t64 netbase base-files
  libbz2-1.0 libdb5.3t64 libexpat1 liblzma5 libsqlite3-0 libuuid1 libncursesw6 libtinfo6 zlib1g
  libcrypt1 libffi8 libreadline8t64
)

here=$(cd "$(dirname "$0")" && pwd)
tag="$repo:py3.13-$(sha256sum "$here/build-base.sh" | cut -c1-12)"
if [ "${1:-}" != "--force" ] && docker image inspect "$tag" >/dev/null 2>&1; then
  echo "$tag"
  exit 0
fi

# Runs after extraction, outside the chroot, with the root directory as $1 and the .debs still cached.
# shellcheck disable=SC2016 # mmdebstrap expands $1, not this shell
hook='mkdir -p "$1/var/lib/dpkg/status.d"
for deb in "$1"/var/cache/apt/archives/*.deb; do
  dpkg-deb -f "$deb" >"$1/var/lib/dpkg/status.d/$(dpkg-deb -f "$deb" Package)"
done'

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root
include=$(IFS=,; echo "${packages[*]}")
mmdebstrap --quiet --variant=extract --mode=root --format=directory --include="$include" \
  --extract-hook="$hook" "$suite" "$root" "$mirror" >&2

# No shell, no package manager, no tool: the interpreter is the only program left.
find "$root/usr/bin" "$root/usr/sbin" -mindepth 1 ! -name "$python" -exec rm -rf {} +
rm -rf "$root"/usr/share/{perl5,debconf,man,info,lintian,bash-completion} \
  "$root"/etc/{apt,dpkg,debconf.conf,profile.d,update-motd.d,skel,alternatives} \
  "$root"/var/lib/dpkg/{status,available,info,triggers,updates,alternatives,arch,diversions} \
  "${root:?}"/var/cache/* "${root:?}"/var/log/* "${root:?}"/dev/*
rm -f "$root"/var/lib/dpkg/status.d/{debconf,mawk}  # their files are gone
ln -sf "$python" "$root/usr/bin/python3"
ln -sf "$python" "$root/usr/bin/python"
cat >"$root/etc/passwd" <<'PW'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
PW
cat >"$root/etc/group" <<'GR'
root:x:0:
nogroup:x:65534:
nonroot:x:65532:
GR
printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
: >"$root/etc/hostname"
: >"$root/etc/resolv.conf"
mkdir -p "$root/home/nonroot" "$root/root" "$root/tmp"
chown 65532:65532 "$root/home/nonroot"
chmod 0700 "$root/root" "$root/home/nonroot"
chmod 1777 "$root/tmp"

tar --numeric-owner -C "$root" -cf - . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'USER 65532' \
  --change 'WORKDIR /home/nonroot' \
  --change 'ENTRYPOINT ["/usr/bin/python3.13"]' \
  --message "stand-in for gcr.io/distroless/python3-debian13:nonroot" \
  - "$tag" >&2
echo "$tag"
