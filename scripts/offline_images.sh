#!/usr/bin/env bash
# Base images where no container registry answers: for each IMAGE named (the names our
# Dockerfiles start FROM), nothing is done when the engine has it or can pull it; otherwise
# a stand-in is built under the same name from Debian's packages: a debootstrap root file
# system (bookworm, from the host's own Debian mirror) imported with `docker import`.
#   python:3.11*-slim-bookworm  Debian's Python 3.11 in a venv on PATH at /usr/local/python,
#                               as the official image keeps python and pip on PATH
# The stand-ins carry the label conveyor.stand-in=true (docs/operating.md says which).
# usage: scripts/offline_images.sh IMAGE...   (run as root: debootstrap needs it)
set -euo pipefail

mirror() {  # the host's Debian mirror: images come from where the host's packages come
  local uri
  uri=$(grep -hoE '^URIs: *\S+' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1 | awk '{print $2}')
  [ -n "$uri" ] || uri=$(grep -hoE '^deb +\S+' /etc/apt/sources.list 2>/dev/null | head -1 | awk '{print $2}')
  [ -n "$uri" ] || { echo "no Debian mirror in the host's apt sources" >&2; exit 1; }
  echo "$uri"
}

python_stand_in() {
  local name=$1 root
  root=$(mktemp -d)
  trap 'rm -rf "$root"' RETURN
  echo "building a stand-in for $name with debootstrap (Debian bookworm's python3)"
  debootstrap --variant=minbase --include=ca-certificates,passwd,python3,python3-venv \
    bookworm "$root" "$(mirror)" >"$root.log" 2>&1 || { tail -20 "$root.log" >&2; exit 1; }
  rm -f "$root.log"
  chroot "$root" python3 -m venv /usr/local/python
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -c . | docker import \
    --change 'ENV PATH=/usr/local/python/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'LABEL conveyor.stand-in=true' \
    --change 'CMD ["python3"]' - "$name" >/dev/null
  docker run --rm "$name" python -c 'import sys, venv; print("stand-in python", sys.version.split()[0])'
}

for image in "$@"; do
  if docker image inspect "$image" >/dev/null 2>&1; then
    continue
  fi
  if timeout 60 docker pull -q "$image" >/dev/null 2>&1; then
    continue
  fi
  echo "no registry answers for $image"
  case "$image" in
    python:3.11*-slim-bookworm) python_stand_in "$image" ;;
    *) echo "no stand-in is known for $image" >&2; exit 1 ;;
  esac
done
