#!/usr/bin/env bash
# Gets a Debian machine ready for the tests; `npm test` and .ci/run both start with it. The
# packages are listed once, in scripts/test-packages.txt. As root, what is missing is installed
# (apt-get update only then); as another user it stops at once, naming the missing packages and
# the command that installs them. Then Debian's cloud kernel for the QEMU guest tests is fetched.
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t packages < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' scripts/test-packages.txt)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: the tests need Debian packages that are not installed: ${missing[*]}" >&2
    echo "install-deps: install them with: sudo apt-get install --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

scripts/ci/fetch-guest-kernel.sh
