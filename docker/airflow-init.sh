#!/bin/sh
# The compose stack's one-off init job: migrate Airflow's metadata database, create the
# `gpu` pool, and write the UI login of `admin` from AIRFLOW_ADMIN_PASSWORD into the
# passwords file the API server reads (a volume shared with it). Safe to run again.
set -eu
: "${AIRFLOW_ADMIN_PASSWORD:?AIRFLOW_ADMIN_PASSWORD is not set (make secrets writes .env)}"
: "${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE:?set it to the shared passwords file}"

airflow db migrate
airflow pools set gpu 1 "one GPU per training"
umask 077
mkdir -p "$(dirname "$AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE")"
printf '{"admin": "%s"}\n' "$AIRFLOW_ADMIN_PASSWORD" > "$AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"
echo "Airflow is migrated; log in as admin with AIRFLOW_ADMIN_PASSWORD from .env"
