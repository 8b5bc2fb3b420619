#!/usr/bin/env bash
# Build Conveyor's images from this checkout, with the commit they are built from:
#   conveyor/task     every pipeline step (`conveyor <step> ...`) and the MLflow server
#   conveyor/serving  the champion over HTTP
#   conveyor/airflow  the stack's Airflow services with our DAGs and plugins
# usage: scripts/build_images.sh [task serving airflow]   (default: all three)
#
# Works where no registry answers (base images from scripts/offline_images.sh), behind a
# TLS-intercepting proxy (the host's extra CA certificates are trusted in the build), and
# without PyTorch's index: torch is installed from docker/wheels/, filled here from
# TORCH_INDEX (CPU builds by default; a CUDA index for GPU images), else from what pip
# finds with the host's own configuration. The classic builder and BuildKit both work.
set -euo pipefail
cd "$(dirname "$0")/.."

TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
TORCH_INDEX=${TORCH_INDEX:-https://download.pytorch.org/whl/cpu}
PYTHON=${PYTHON:-.venv/bin/python}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(task serving airflow)

base=$(awk '/^FROM / {print $2; exit}' docker/task.Dockerfile)
scripts/offline_images.sh "$base"

# Extra CA certificates of the host (Debian's local folder): a proxy that intercepts TLS
# signs with one of them, and pip inside the build must trust it too.
# Copied only when changed, never removed here: a build running beside this one keeps its.
for cert in /usr/local/share/ca-certificates/*.crt; do
  [ -e "$cert" ] || continue
  cmp -s "$cert" "docker/certs/$(basename "$cert")" || cp "$cert" docker/certs/
done

if ! ls docker/wheels/torch-* >/dev/null 2>&1; then
  echo "fetching $TORCH_SPEC into docker/wheels"
  "$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: -d docker/wheels "$TORCH_SPEC" \
      --index-url "$TORCH_INDEX" --timeout 15 --retries 0 2>/dev/null \
    || "$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: -d docker/wheels "$TORCH_SPEC"
fi

commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
dirty=$( [ -n "$(git status --porcelain 2>/dev/null)" ] && echo true || echo false )
build() {  # TAG DOCKERFILE [TARGET]
  echo "building $1 (commit $commit, dirty $dirty)"
  docker build --quiet --tag "$1" --file "$2" ${3:+--target "$3"} \
    --build-arg GIT_COMMIT="$commit" --build-arg GIT_DIRTY="$dirty" \
    . >/dev/null
}
for target in "${targets[@]}"; do
  case "$target" in
    task|serving) build "conveyor/$target:latest" docker/task.Dockerfile "$target" ;;
    airflow) build conveyor/airflow:latest docker/airflow.Dockerfile ;;
    *) echo "unknown image $target; use task, serving or airflow" >&2; exit 2 ;;
  esac
done
