#!/usr/bin/env bash
# `make ui`: the Airflow UI (with its scheduler, so triggered runs run) and the MLflow UI
# on the embedded default, until Ctrl-C. Everything lives under $CONVEYOR_HOME.
set -euo pipefail
cd "$(dirname "$0")/.."
export CONVEYOR_HOME="${CONVEYOR_HOME:-$PWD/.conveyor}"
export AIRFLOW_HOME="$CONVEYOR_HOME/airflow"
export AIRFLOW__CORE__DAGS_FOLDER="$PWD/dags" AIRFLOW__CORE__PLUGINS_FOLDER="$PWD/plugins"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
AIRFLOW_PORT="${AIRFLOW_PORT:-8080}" MLFLOW_PORT="${MLFLOW_PORT:-5000}"
export PATH="$PWD/.venv/bin:$PATH"  # airflow standalone starts its parts by name
mkdir -p "$AIRFLOW_HOME"
export CONVEYOR_MLFLOW_UI_URL="http://127.0.0.1:$MLFLOW_PORT"  # the Models view links runs there

.venv/bin/airflow db migrate > "$AIRFLOW_HOME/migrate.log"
.venv/bin/airflow pools set gpu 1 "one GPU per training" > /dev/null

.venv/bin/mlflow ui --backend-store-uri "sqlite:///$CONVEYOR_HOME/mlflow.db" \
  --host 127.0.0.1 --port "$MLFLOW_PORT" > "$CONVEYOR_HOME/mlflow-ui.log" 2>&1 &
mlflow_pid=$!
trap 'kill $mlflow_pid 2>/dev/null || true' EXIT

cat <<MSG
MLflow UI:  http://127.0.0.1:$MLFLOW_PORT
Airflow UI: http://127.0.0.1:$AIRFLOW_PORT  user: admin, password: printed by Airflow below
            (kept in $AIRFLOW_HOME/simple_auth_manager_passwords.json.generated)
Ctrl-C stops both.
MSG
AIRFLOW__API__PORT="$AIRFLOW_PORT" .venv/bin/airflow standalone
