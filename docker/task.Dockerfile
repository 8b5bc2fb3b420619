# syntax=docker/dockerfile:1
# The task image: the `conveyor` CLI and its locked dependencies. Every pipeline step runs in
# it, in production exactly as on a laptop: `conveyor <step> --model <name> ...`. Its
# `serving` target is the serving image (`conveyor serve`), and the MLflow server runs in
# it too (docker/mlflow-server.sh).
# CPU by default; a GPU build passes --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu128
# (the model code uses CUDA, bf16 autocast and pinned memory whenever a GPU is visible).
FROM python:3.11.7-slim-bookworm AS task

ARG TORCH_SPEC="torch==2.13.0"
ARG TORCH_INDEX="https://download.pytorch.org/whl/cpu"

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CONVEYOR_HOME=/var/lib/conveyor \
    CONVEYOR_CONFIG_DIR=/opt/conveyor/configs \
    CONVEYOR_FEATURE_REPO=/opt/conveyor/feature_repo

RUN useradd --create-home --uid 10001 conveyor \
    && mkdir -p /var/lib/conveyor \
    && chown conveyor /var/lib/conveyor

WORKDIR /opt/conveyor
# Dependencies first, from the lock file, so code changes do not rebuild this layer.
COPY requirements.lock ./
# TORCH_SPEC is pinned (an ARG hadolint cannot read); the rest comes from the lock file.
# hadolint ignore=DL3013
RUN pip install --no-cache-dir "${TORCH_SPEC}" --index-url "${TORCH_INDEX}" \
    && pip install --no-cache-dir -r requirements.lock

COPY pyproject.toml README.md ./
COPY pipelines ./pipelines
COPY configs ./configs
COPY feature_repo ./feature_repo
RUN pip install --no-cache-dir --no-deps --no-build-isolation .
COPY docker/mlflow-server.sh /usr/local/bin/mlflow-server

USER 10001
VOLUME ["/var/lib/conveyor"]
ENTRYPOINT ["conveyor"]
CMD ["--help"]

# The serving image: the champion over HTTP on 8080, with a health check on /ready.
FROM task AS serving
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/ready')"]
CMD ["serve", "--model", "freight_volume", "--host", "0.0.0.0", "--port", "8080"]
