#!/bin/sh
# PostgreSQL's first start (the image runs /docker-entrypoint-initdb.d/*): one owner and one
# database per service, each with its own password from the environment. Also run by the
# test suite against a real server, with CONVEYOR_DB_PREFIX keeping its names apart.
set -eu
prefix="${CONVEYOR_DB_PREFIX:-}"
for service in airflow mlflow feast serving; do
    upper=$(echo "$service" | tr '[:lower:]' '[:upper:]')
    password=$(printenv "${upper}_DB_PASSWORD") || { echo "${upper}_DB_PASSWORD is not set" >&2; exit 1; }
    psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname postgres \
        -v name="${prefix}${service}" -v password="$password" <<'SQL'
CREATE ROLE :"name" LOGIN PASSWORD :'password';
CREATE DATABASE :"name" OWNER :"name";
SQL
done
# MLflow keeps its users apart from its runs.
psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname postgres \
    -v name="${prefix}mlflow" -v auth="${prefix}mlflow_auth" <<'SQL'
CREATE DATABASE :"auth" OWNER :"name";
SQL
