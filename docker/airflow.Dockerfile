# The Airflow image: api-server, scheduler, dag-processor, triggerer and Celery workers of
# the compose stack, with our DAGs and plugins. Tasks do not run here (a worker starts each
# in the task image through the Docker socket proxy), so neither torch nor the ML stack is
# installed: only Airflow, its providers, what the DAG files import to read the model
# configs, MLflow's client for the Models view and prometheus-client for the alert receiver's
# metrics, all at the versions requirements.lock pins.
FROM python:3.11.7-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
    AIRFLOW_HOME=/opt/airflow \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/airflow/dags \
    AIRFLOW__CORE__PLUGINS_FOLDER=/opt/airflow/plugins \
    AIRFLOW__CORE__LOAD_EXAMPLES=False \
    CONVEYOR_CONFIG_DIR=/opt/airflow/configs \
    PYTHONPATH=/opt/airflow/plugins

COPY docker/certs/ /usr/local/share/ca-certificates/
RUN update-ca-certificates >/dev/null \
    && useradd --create-home --uid 50000 airflow \
    && mkdir -p /opt/airflow/auth \
    && chown -R airflow /opt/airflow

WORKDIR /opt/airflow
COPY requirements.lock ./
# The lock file is the constraint: every package comes at its pinned version (setuptools too:
# installing our package below needs one that reads pyproject's SPDX license).
RUN pip install --no-cache-dir --constraint requirements.lock \
        apache-airflow apache-airflow-providers-celery apache-airflow-providers-docker \
        apache-airflow-providers-cncf-kubernetes \
        apache-airflow-providers-standard apache-airflow-providers-postgres asyncpg psycopg2-binary \
        pydantic pyyaml croniter mlflow-skinny prometheus-client setuptools

COPY pyproject.toml README.md ./
COPY pipelines ./pipelines
RUN pip install --no-cache-dir --no-deps --no-build-isolation .
COPY --chown=airflow dags ./dags
COPY --chown=airflow plugins ./plugins
COPY --chown=airflow configs ./configs
COPY --chown=airflow docker/airflow-init.sh /usr/local/bin/airflow-init

# The commit this image is built from (scripts/build_images.sh passes it): lineage reads it
# where there is no .git. Declared last, so a new commit rebuilds no dependency layer.
ARG GIT_COMMIT=unknown
ARG GIT_DIRTY=unknown
LABEL org.opencontainers.image.revision="${GIT_COMMIT}"
ENV CONVEYOR_GIT_COMMIT="${GIT_COMMIT}" \
    CONVEYOR_GIT_DIRTY="${GIT_DIRTY}"

USER 50000
ENTRYPOINT ["airflow"]
CMD ["version"]
