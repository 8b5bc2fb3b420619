#!/usr/bin/env bash
# Base images where no container registry answers: for each IMAGE named (the names our
# Dockerfiles and docker-compose.yml use), nothing is done when the engine has it or can
# pull it; otherwise a stand-in is built under the same name from Debian's packages, on a
# debootstrap root file system (bookworm, from the host's own Debian mirror) imported with
# `docker import`. The stand-ins (docker/stand-ins/) carry the label conveyor.stand-in=true:
#   python:3.11*-slim-bookworm        Debian's Python 3.11 in a venv on PATH
#   postgres:*-bookworm               Debian's PostgreSQL 15, the official entrypoint's contract
#   redis:*-bookworm                  Debian's Redis 7.0
#   tecnativa/docker-socket-proxy:*   Debian's HAProxy with the same allow-list variables
#   prom/prometheus:*                 Debian's Prometheus 2.42
#   prom/alertmanager:*               Debian's Alertmanager 0.25
# usage: scripts/offline_images.sh IMAGE...   (as root: debootstrap needs it)
set -euo pipefail
cd "$(dirname "$0")/.."
BASE=conveyor/stand-in-base:bookworm

mirror() {  # the host's Debian mirror: images come from where the host's packages come
  local uri
  uri=$(grep -hoE '^URIs: *\S+' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1 | awk '{print $2}')
  [ -n "$uri" ] || uri=$(grep -hoE '^deb +\S+' /etc/apt/sources.list 2>/dev/null | head -1 | awk '{print $2}')
  [ -n "$uri" ] || { echo "no Debian mirror in the host's apt sources" >&2; exit 1; }
  echo "$uri"
}

base() {  # one minimal Debian root file system, shared by every stand-in
  docker image inspect "$BASE" >/dev/null 2>&1 && return
  local root
  root=$(mktemp -d)
  echo "debootstrap: a Debian bookworm root file system for the stand-ins"
  debootstrap --variant=minbase --include=ca-certificates bookworm "$root" "$(mirror)" >"$root.log" 2>&1 \
    || { tail -20 "$root.log" >&2; rm -rf "$root" "$root.log"; exit 1; }
  rm -rf "$root.log" "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -c . | docker import --change 'CMD ["bash"]' - "$BASE" >/dev/null
  rm -rf "$root"
}

stand_in() {  # IMAGE DOCKERFILE
  base
  echo "building a stand-in for $1 from Debian's packages (docker/stand-ins/$2)"
  docker build --quiet --tag "$1" --file "docker/stand-ins/$2" docker/stand-ins >/dev/null
}

for image in "$@"; do
  docker image inspect "$image" >/dev/null 2>&1 && continue
  timeout 60 docker pull -q "$image" >/dev/null 2>&1 && continue
  echo "no registry answers for $image"
  case "$image" in
    python:3.11*-slim-bookworm) stand_in "$image" python.Dockerfile ;;
    postgres:*-bookworm) stand_in "$image" postgres.Dockerfile ;;
    redis:*-bookworm) stand_in "$image" redis.Dockerfile ;;
    tecnativa/docker-socket-proxy:*) stand_in "$image" socket-proxy.Dockerfile ;;
    prom/prometheus:*) stand_in "$image" prometheus.Dockerfile ;;
    prom/alertmanager:*) stand_in "$image" alertmanager.Dockerfile ;;
    *) echo "no stand-in is known for $image" >&2; exit 1 ;;
  esac
done
