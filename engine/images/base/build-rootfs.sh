#!/usr/bin/env bash
# Build a minimal Debian root filesystem with debootstrap and write it as a tar stream to stdout (for `docker import`).
#
#   build-rootfs.sh <suite> <mirror> [security-mirror] > rootfs.tar
#
# minbase variant (essential packages + apt), then trimmed like Debian's own "slim" images: no docs, man pages or
# translations (also for packages installed later, via dpkg path-excludes), no recommends, no apt caches or lists.
set -euo pipefail

suite=${1:?usage: build-rootfs.sh <suite> <mirror> [security-mirror]}
mirror=${2:?usage: build-rootfs.sh <suite> <mirror> [security-mirror]}
security=${3:-}

[ "$(id -u)" = 0 ] || { echo "build-rootfs.sh: must run as root (debootstrap)" >&2; exit 1; }
[ -t 1 ] && { echo "build-rootfs.sh: writes a tar stream; redirect stdout" >&2; exit 1; }

root=$(mktemp -d "${TMPDIR:-/var/tmp}/rootfs-$suite.XXXXXX")
cleanup() {
  # debootstrap mounts proc/sys in the target; never delete through a mount.
  for m in proc sys dev/pts dev; do mountpoint -q "$root/$m" 2>/dev/null && umount -l "$root/$m" || true; done
  rm -rf --one-file-system "$root"
}
trap cleanup EXIT

debootstrap --variant=minbase --include=ca-certificates "$suite" "$root" "$mirror" >&2

# apt sources: the suite, its updates and (when known) security.
{
  echo "deb $mirror $suite main"
  echo "deb $mirror $suite-updates main"
  [ -n "$security" ] && echo "deb $security $suite-security main"
} >"$root/etc/apt/sources.list"

cat >"$root/etc/dpkg/dpkg.cfg.d/01-platform-slim" <<'EOF'
# Keep images small: no docs, man pages or translations (copyright files stay).
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
EOF
cat >"$root/etc/apt/apt.conf.d/01-platform-slim" <<'EOF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
# Services must not start while images are built.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod +x "$root/usr/sbin/policy-rc.d"

find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/* "$root"/usr/share/lintian \
  "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/var/cache/debconf/*-old "$root"/var/log/* \
  "$root"/tmp/* "$root"/var/tmp/*
: >"$root/etc/machine-id"
rm -f "$root/etc/hostname" "$root/etc/resolv.conf"

# The container runtime supplies /dev, /proc and /sys.
for m in proc sys dev/pts dev; do mountpoint -q "$root/$m" && umount -l "$root/$m"; done
find "$root/dev" -mindepth 1 -delete
tar --numeric-owner --xattrs -C "$root" -c .
