#!/usr/bin/env bash
# Boot one container of the node image the way the Molecule scenarios run it and wait until
# systemd reports the system as running (or degraded), then remove it.
#
# The docker run options are the ones every scenario uses (extensions/molecule/config.yml):
# `--privileged` is refused on the test machines, so systemd gets exactly the capabilities it
# needs, tmpfs on /run and /run/lock, and the host's cgroup hierarchy.
#
# Usage: hack/node-image/check.sh [IMAGE]      (default hybrid-node:bookworm)
set -euo pipefail

image=${1:-hybrid-node:bookworm}
docker_cli=${DOCKER:-}
if [ -z "$docker_cli" ]; then
  if [ -x /usr/bin/docker ]; then docker_cli=/usr/bin/docker; else docker_cli=docker; fi
fi
name=hybrid-node-check-$$

cleanup() { "$docker_cli" rm -f "$name" >/dev/null 2>&1 || true; }
trap cleanup EXIT

"$docker_cli" run -d --name "$name" --hostname "$name" \
  --cap-add SYS_ADMIN --cap-add NET_ADMIN --cap-add SYS_TIME \
  --tmpfs /run --tmpfs /run/lock \
  --volume /sys/fs/cgroup:/sys/fs/cgroup:rw --cgroupns host \
  --network none \
  "$image" /sbin/init >/dev/null

state=unknown
for _ in $(seq 60); do
  state=$("$docker_cli" exec "$name" systemctl is-system-running 2>/dev/null || true)
  case "$state" in
    running | degraded) break ;;
  esac
  sleep 1
done

case "$state" in
  running | degraded)
    echo "node-image: systemd in $image is $state"
    if [ "$state" = degraded ]; then
      "$docker_cli" exec "$name" systemctl --failed --no-pager --plain || true
    fi
    ;;
  *)
    echo "node-image: systemd in $image did not come up (state: ${state:-none})" >&2
    "$docker_cli" logs "$name" 2>&1 | tail -n 30 >&2 || true
    exit 1
    ;;
esac
"$docker_cli" exec "$name" python3 --version
"$docker_cli" exec "$name" chronyd --version | head -n 1
