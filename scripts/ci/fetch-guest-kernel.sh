#!/usr/bin/env bash
# Fetches Debian's cloud kernel (the package linux-image-cloud-amd64 depends on) for the QEMU
# guest tests and extracts it, without installing, into .cache/guest-kernel/ in the repository:
#   vmlinuz, config, modules/ (the kernel's module tree). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/../.."
dest=.cache/guest-kernel
if [ -s "$dest/vmlinuz" ] && [ -d "$dest/modules" ]; then exit 0; fi
pkg=$(apt-cache depends linux-image-cloud-amd64 | sed -n 's/^ *Depends: \(linux-image-[0-9].*-cloud-amd64\)$/\1/p' | head -n1)
if [ -z "$pkg" ]; then
  apt-get update -qq
  pkg=$(apt-cache depends linux-image-cloud-amd64 | sed -n 's/^ *Depends: \(linux-image-[0-9].*-cloud-amd64\)$/\1/p' | head -n1)
fi
[ -n "$pkg" ] || { echo "fetch-guest-kernel: cannot resolve linux-image-cloud-amd64" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download -qq "$pkg")
dpkg-deb -x "$work"/"$pkg"_*.deb "$work/x"
rm -rf "$dest"
mkdir -p "$dest"
cp "$work"/x/boot/vmlinuz-* "$dest/vmlinuz"
cp "$work"/x/boot/config-* "$dest/config"
mv "$work"/x/lib/modules/* "$dest/modules"
echo "fetch-guest-kernel: $pkg in $dest"
