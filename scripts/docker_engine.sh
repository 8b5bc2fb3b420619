#!/usr/bin/env bash
# A Docker engine that answers (`make system`): untouched when one already does (Docker
# Desktop, a system service, DOCKER_HOST); otherwise, as root, Debian's dockerd is started
# in the background and waited for. Its log: /var/log/conveyor-dockerd.log.
set -euo pipefail

docker info >/dev/null 2>&1 && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "no Docker engine answers; start one (e.g. sudo systemctl start docker) and run make again" >&2
  exit 1
fi
command -v dockerd >/dev/null || { echo "dockerd is not installed: run make system" >&2; exit 1; }
echo "starting dockerd (log: /var/log/conveyor-dockerd.log)"
nohup dockerd >/var/log/conveyor-dockerd.log 2>&1 &
for _ in $(seq 60); do
  docker info >/dev/null 2>&1 && exit 0
  sleep 1
done
echo "dockerd did not answer within 60 s; see /var/log/conveyor-dockerd.log" >&2
tail -20 /var/log/conveyor-dockerd.log >&2
exit 1
