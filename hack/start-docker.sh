#!/usr/bin/env bash
# Start the Docker engine for the Molecule node containers when it is not already running.
#
# The test machines have no systemd as PID 1, so `systemctl start docker` is not an option:
# dockerd is started in the background with a log file and this script waits until the engine
# answers. Settings chosen for these machines:
#   - cgroupfs cgroup driver (there is no systemd on the host to delegate to),
#   - overlay2 storage when the kernel offers overlayfs, vfs otherwise,
#   - iptables kept on (the default bridge network needs NAT between containers and the host;
#     the containers themselves only talk to each other and to the host).
#
# Environment:
#   DOCKERD_LOG         log file of the engine   (default /var/log/dockerd.log)
#   DOCKERD_DATA_ROOT   engine state directory   (default /var/lib/docker)
#   DOCKERD_WAIT        seconds to wait for it   (default 60)
set -euo pipefail

log=${DOCKERD_LOG:-/var/log/dockerd.log}
data_root=${DOCKERD_DATA_ROOT:-/var/lib/docker}
wait_s=${DOCKERD_WAIT:-60}

# Prefer the client that ships with the engine package: a newer client elsewhere on PATH
# (for instance in /usr/local/bin) may shadow it. Newer clients negotiate the API version down,
# so either works, but the packaged one is known to match the engine.
docker_cli=docker
if [ -x /usr/bin/docker ]; then
  docker_cli=/usr/bin/docker
fi

engine_up() {
  "$docker_cli" info >/dev/null 2>&1
}

if engine_up; then
  echo "docker: engine already running"
  exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
  echo "docker: dockerd not found; install the docker.io package" >&2
  exit 1
fi

# With systemd as PID 1 the service manager owns the engine.
if [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ] && command -v systemctl >/dev/null 2>&1; then
  systemctl start docker
else
  storage_driver=vfs
  if grep -qw overlay /proc/filesystems; then
    storage_driver=overlay2
  fi
  # Packet forwarding between the bridge and the containers.
  if [ -w /proc/sys/net/ipv4/ip_forward ]; then
    echo 1 >/proc/sys/net/ipv4/ip_forward
  fi
  mkdir -p "$(dirname "$log")" "$data_root"
  # A stale pid file from an engine that died would stop a new one from starting.
  if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
    rm -f /var/run/docker.pid
  fi
  echo "docker: starting dockerd (storage driver ${storage_driver}, log ${log})"
  nohup dockerd \
    --data-root "$data_root" \
    --storage-driver "$storage_driver" \
    --exec-opt native.cgroupdriver=cgroupfs \
    --host unix:///var/run/docker.sock \
    >>"$log" 2>&1 </dev/null &
  disown || true
fi

for _ in $(seq "$wait_s"); do
  if engine_up; then
    "$docker_cli" version --format 'docker: engine {{.Server.Version}} up (client {{.Client.Version}})'
    exit 0
  fi
  sleep 1
done

echo "docker: engine did not answer within ${wait_s}s; last lines of ${log}:" >&2
tail -n 40 "$log" >&2 || true
exit 1
