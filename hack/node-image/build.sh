#!/usr/bin/env bash
# Build the Debian bookworm node image used by the Molecule scenarios (systemd as PID 1).
#
# No container registry is reachable from the test machines, so the root file system is made
# with debootstrap from the Debian mirror that this machine's apt already uses, and loaded with
# `docker import`. The mirror is read from apt's configuration at build time; nothing here names
# a host.
#
# The image:
#   - boots systemd (/sbin/init) inside an unprivileged container (check.sh shows the
#     docker run options that go with it),
#   - has python3 and python3-apt for Ansible, and the packages the node roles install
#     (chrony, containerd, openssl, ...) already in place, so their install tasks are no-ops,
#   - contacts nothing on the internet by itself: chrony has no pool/server lines, DHCP-provided
#     NTP sources are not read, and apt's only sources are the mirror the build host uses.
#
# Usage: hack/node-image/build.sh [IMAGE]      (default hybrid-node:bookworm)
# Environment:
#   NODE_IMAGE_WORKDIR   scratch directory for the root file system (default .build/node-image)
#   NODE_IMAGE_LABEL     value stored in the image label hybrid.cluster.node-image (set by make)
#   DOCKER               docker client to use (default: /usr/bin/docker when present)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
image=${1:-hybrid-node:bookworm}
suite=bookworm
workdir=${NODE_IMAGE_WORKDIR:-$root/.build/node-image}
label=${NODE_IMAGE_LABEL:-manual}
docker_cli=${DOCKER:-}
if [ -z "$docker_cli" ]; then
  if [ -x /usr/bin/docker ]; then docker_cli=/usr/bin/docker; else docker_cli=docker; fi
fi

# Packages on top of debootstrap's minbase. Keep the node roles' packages here so that their
# install tasks find everything already installed.
packages=(
  systemd systemd-sysv dbus
  python3 python3-apt
  iproute2 iputils-ping procps less
  ca-certificates openssl
  chrony
  containerd
)

log() { echo "node-image: $*"; }

if [ "$(id -u)" -ne 0 ]; then
  echo "node-image: debootstrap needs root" >&2
  exit 1
fi
for tool in debootstrap "$docker_cli"; do
  command -v "$tool" >/dev/null 2>&1 || { echo "node-image: $tool not found" >&2; exit 1; }
done

# --------------------------------------------------------------------------- the host's mirror
# "URI|suite" of every Debian archive apt on this host uses, e.g. the main archive, its
# -updates and its -security suite.
debian_repos() {
  local lines
  # shellcheck disable=SC2016 # $(...) are apt's format fields, not shell expansions
  lines=$(apt-get indextargets --format '$(ORIGIN)|$(CODENAME)|$(REPO_URI)' 2>/dev/null \
    | awk -F'|' -v s="$suite" '$1 == "Debian" && index($2, s) == 1 { print $3 "|" $2 }' | sort -u)
  if [ -z "$lines" ]; then
    # No package lists yet (apt-get update never ran): read the source files themselves.
    lines=$(
      {
        # one-line style: deb [opts] URI suite components
        grep -hsE '^\s*deb\s' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
          | sed -E 's/\[[^]]*\]//' | awk -v s="$suite" 'index($3, s) == 1 { print $2 "|" $3 }'
        # deb822 style: URIs: / Suites: pairs in one stanza
        for f in /etc/apt/sources.list.d/*.sources; do
          [ -f "$f" ] || continue
          awk -v s="$suite" '
            /^URIs:/ { uri = $2 }
            /^Suites:/ { for (i = 2; i <= NF; i++) if (index($i, s) == 1) print uri "|" $i }
            /^$/ { uri = "" }' "$f"
        done
      } | sed -E 's#/?\|#/|#' | sort -u)
  fi
  [ -n "$lines" ] || { echo "node-image: no Debian $suite source in apt's configuration" >&2; return 1; }
  echo "$lines"
}

repos=$(debian_repos)
main_mirror=$(echo "$repos" | awk -F'|' -v s="$suite" '$2 == s { print $1; exit }')
[ -n "$main_mirror" ] || { echo "node-image: no mirror for the $suite suite" >&2; exit 1; }
log "building $image from the host's Debian mirror"

# --------------------------------------------------------------------------- root file system
rootfs=$workdir/rootfs
cleanup() {
  for m in proc sys dev/pts dev; do
    if mountpoint -q "$rootfs/$m" 2>/dev/null; then umount -l "$rootfs/$m" || true; fi
  done
}
trap cleanup EXIT
cleanup
rm -rf "$rootfs"
mkdir -p "$rootfs"

start=$(date +%s)
debootstrap --variant=minbase --components=main "$suite" "$rootfs" "$main_mirror" \
  >"$workdir/debootstrap.log" 2>&1 || {
  tail -n 30 "$workdir/debootstrap.log" >&2
  exit 1
}
log "debootstrap done in $(($(date +%s) - start))s"

# apt sources of the image: exactly the archives the host uses.
rm -f "$rootfs/etc/apt/sources.list"
{
  echo "$repos" | while IFS='|' read -r uri dist; do
    echo "Types: deb"
    echo "URIs: $uri"
    echo "Suites: $dist"
    echo "Components: main"
    echo "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
    echo
  done
} >"$rootfs/etc/apt/sources.list.d/debian.sources"

# Services must not start inside the chroot while packages install.
printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
chmod 0755 "$rootfs/usr/sbin/policy-rc.d"
mount -t proc proc "$rootfs/proc"
mount --rbind /sys "$rootfs/sys"
mount --bind /dev "$rootfs/dev"
mount --bind /dev/pts "$rootfs/dev/pts"
cp /etc/resolv.conf "$rootfs/etc/resolv.conf"

in_root() { chroot "$rootfs" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
  DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@"; }
in_root apt-get update -qq
in_root apt-get install -y -qq --no-install-recommends "${packages[@]}" >"$workdir/apt.log" 2>&1 || {
  tail -n 30 "$workdir/apt.log" >&2
  exit 1
}
in_root apt-get clean
log "packages installed after $(($(date +%s) - start))s"
cleanup

# --------------------------------------------------------------------------- container tweaks
rm -f "$rootfs/usr/sbin/policy-rc.d"
: >"$rootfs/etc/resolv.conf"
# systemd makes a fresh machine id on every boot of an empty file.
: >"$rootfs/etc/machine-id"
rm -f "$rootfs/var/lib/dbus/machine-id"

# chrony: no internet time source of any kind. The ntp role renders the real configuration.
conf=$rootfs/etc/chrony/chrony.conf
sed -i -E '/^\s*(pool|server|peer|sourcedir)\s/d' "$conf"
cat >>"$conf" <<'EOF'
# Node image: no time source is configured until a role renders this file.
EOF
rm -rf "$rootfs/etc/chrony/sources.d"/* 2>/dev/null || true

# Units that have nothing to do in a container, or would wait for hardware that is not there.
for unit in \
  getty.target console-getty.service serial-getty@.service \
  systemd-udevd.service systemd-udev-trigger.service systemd-udev-settle.service \
  systemd-modules-load.service systemd-remount-fs.service sys-kernel-config.mount \
  sys-kernel-debug.mount sys-kernel-tracing.mount sys-fs-fuse-connections.mount \
  systemd-firstboot.service apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer \
  fstrim.timer; do
  ln -sf /dev/null "$rootfs/etc/systemd/system/$unit"
done
# The engine inside the node is configured by the roles, not started at boot.
ln -sf /dev/null "$rootfs/etc/systemd/system/containerd.service"
rm -f "$rootfs/etc/systemd/system/multi-user.target.wants/containerd.service"

# Keep the image small: documentation and logs are not needed on test nodes.
rm -rf "$rootfs/usr/share/doc"/* "$rootfs/usr/share/man"/* "$rootfs/var/log"/*.log \
  "$rootfs/var/cache/apt"/*.bin

# --------------------------------------------------------------------------- import
"$docker_cli" image rm -f "$image" >/dev/null 2>&1 || true
tar --numeric-owner --xattrs -C "$rootfs" -c . | "$docker_cli" import \
  --change 'ENV container=docker' \
  --change 'CMD ["/sbin/init"]' \
  --change "LABEL hybrid.cluster.node-image=$label" \
  - "$image" >/dev/null
rm -rf "$rootfs"
log "imported $image in $(($(date +%s) - start))s"
