#!/usr/bin/env bash
# Debian packages the test suite runs for real, installed when missing (`make system`):
#   docker-compose  - compose's own parser and its refusal to start without the secrets
#   dockerd         - Debian's docker.io: the engine the images are built and run on (started
#                     by scripts/docker_engine.sh when none answers)
#   debootstrap     - a Debian root file system for base images where no registry answers
#                     (scripts/offline_images.sh)
#   chromium        - the headless browser the UI tests in tests/e2e/ drive through Playwright
#                     (Playwright's own browser download needs a network the CI does not have)
#   prometheus      - Prometheus and promtool: the alert rules checked and unit-tested, and a
#                     real Prometheus evaluating them in tests/integration/test_alerting.py
#   prometheus-alertmanager - the Alertmanager those alerts go through to our receiver
# Idempotent: installs nothing when every command is already there.
set -euo pipefail

declare -A PACKAGE_OF=([docker-compose]=docker-compose [chromium]=chromium [dockerd]=docker.io [debootstrap]=debootstrap
                       [promtool]=prometheus [prometheus-alertmanager]=prometheus-alertmanager)

missing=()
for command in "${!PACKAGE_OF[@]}"; do
  command -v "$command" >/dev/null || missing+=("${PACKAGE_OF[$command]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  echo "missing Debian packages: ${missing[*]}; install them with: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
echo "installing Debian packages: ${missing[*]}"
# A fresh machine may have no package lists yet: update only when the install fails.
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
  || { "${as_root[@]}" apt-get update -qq && "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
