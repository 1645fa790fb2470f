#!/usr/bin/env bash
# Install the Debian packages the tests and the demo need, when some are missing (as root).
#   make, git, tar          the build
#   python3-venv            the virtualenvs
#   docker.io, iptables     the node containers (Molecule, the demo) and the demo's routing rule
#   debootstrap             the node image, built locally
# Without root or apt, it only lists what is missing and fails.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

packages=(make git tar python3-venv docker.io iptables debootstrap)
missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "system-packages: missing ${missing[*]}; install them as root with apt-get" >&2
  exit 1
fi
echo "system-packages: installing ${missing[*]}"
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
