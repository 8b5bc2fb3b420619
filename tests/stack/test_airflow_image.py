"""The Airflow image of the stack holds our DAGs and plugins and parses every DAG of every
model config, with no import error, without the ML stack installed."""

from __future__ import annotations

import json

from tests.dags.test_dag_integrity import KINDS
from tests.stack.conftest import docker

PARSE = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag("/opt/airflow/dags")
heavy = [m for m in ("torch", "transformers", "great_expectations", "feast") if m in sys.modules]
print(json.dumps({"errors": bag.import_errors, "dags": sorted(bag.dag_ids), "heavy": heavy}))
"""


def test_the_airflow_image_parses_every_dag_without_the_ml_stack(airflow_image):
    done = docker("run", "--rm", "--network", "none", "--entrypoint", "python", airflow_image, "-c", PARSE)
    parsed = json.loads(done.stdout.strip().splitlines()[-1])
    assert parsed["errors"] == {}
    models = ("freight_volume", "search_relevance")
    assert parsed["dags"] == sorted(f"{model}__{kind}" for model in models for kind in KINDS)
    assert parsed["heavy"] == []
    missing = docker(
        "run", "--rm", "--entrypoint", "python", airflow_image, "-c", "import torch", check=False
    )
    assert missing.returncode != 0, "the Airflow image carries no torch: tasks run in the task image"
