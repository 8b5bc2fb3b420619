# The task image: the `conveyor` CLI and its locked dependencies. Every pipeline step runs in
# it, in production exactly as on a laptop: `conveyor <step> --model <name> ...`. Its
# `serving` target is the serving image (`conveyor serve`), and the MLflow server runs in
# it too (docker/mlflow-server.sh).
# Build it with scripts/build_images.sh: torch comes from docker/wheels/ (a CPU build by
# default; TORCH_INDEX=<a CUDA index> for a GPU image: the model code uses CUDA, bf16 autocast
# and pinned memory whenever a GPU is visible), and the image records the commit it is built
# from, which every model version trained in it names in its lineage.
FROM python:3.11.7-slim-bookworm AS task

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
    CONVEYOR_HOME=/var/lib/conveyor \
    CONVEYOR_CONFIG_DIR=/opt/conveyor/configs \
    CONVEYOR_FEATURE_REPO=/opt/conveyor/feature_repo \
    CONVEYOR_DAGS_DIR=/opt/conveyor/dags \
    CONVEYOR_PLUGINS_DIR=/opt/conveyor/plugins

# The extra CA certificates of the machine that builds (a TLS-intercepting proxy's): pip trusts them.
COPY docker/certs/ /usr/local/share/ca-certificates/
RUN update-ca-certificates >/dev/null \
    && useradd --create-home --uid 10001 conveyor \
    && mkdir -p /var/lib/conveyor \
    && chown conveyor /var/lib/conveyor

WORKDIR /opt/conveyor
# Dependencies first, from the lock file, so code changes do not rebuild this layer.
COPY requirements.lock ./
COPY docker/wheels/ /tmp/wheels/
# torch from the local wheel (its build, CPU or CUDA, sorts above the lock's plain version);
# everything else at the lock file's versions.
RUN pip install --no-cache-dir --find-links /tmp/wheels -r requirements.lock \
    && rm -rf /tmp/wheels

COPY pyproject.toml README.md ./
COPY pipelines ./pipelines
COPY configs ./configs
COPY feature_repo ./feature_repo
RUN pip install --no-cache-dir --no-deps --no-build-isolation .
COPY docker/mlflow-server.sh /usr/local/bin/mlflow-server
# The DAGs and plugins, for `conveyor demo` alone: it runs them on an embedded Airflow
# (the stack's Airflow has its own image).
COPY dags ./dags
COPY plugins ./plugins

# The commit this image is built from (scripts/build_images.sh passes it): lineage reads it
# where there is no .git. Declared last, so a new commit rebuilds no dependency layer.
ARG GIT_COMMIT=unknown
ARG GIT_DIRTY=unknown
LABEL org.opencontainers.image.revision="${GIT_COMMIT}"
ENV CONVEYOR_GIT_COMMIT="${GIT_COMMIT}" \
    CONVEYOR_GIT_DIRTY="${GIT_DIRTY}"

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
