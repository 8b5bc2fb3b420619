"""The trigger forms of the train and rollback DAGs: each field titled, described, typed and
validated (Airflow checks a run's conf against these JSON schemas in the form and in the
REST API, and refuses a wrong value with the schema's message). Imports nothing heavy."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from airflow.sdk import Param

if TYPE_CHECKING:
    from pipelines.config.model import ModelConfig

# A reason is a short line for the lineage, not an essay; force needs a person and a why.
REASON_LIMIT, NAME_LIMIT, JUSTIFICATION_LIMIT = 200, 100, 500


def overrides_schema(config: ModelConfig) -> dict[str, Any]:
    """The JSON schema of the model type's hyperparameters (from its pydantic model, so the
    form knows the same names, types and bounds the training step enforces)."""
    from pipelines.config.params import PARAMS_BY_TYPE

    schema = PARAMS_BY_TYPE[config.model.type].model_json_schema()
    for field in schema["properties"].values():
        field.pop("default", None)  # the config's value applies, not the type's default
    return {key: schema[key] for key in ("properties", "additionalProperties")}


def registered_versions(model: str) -> tuple[list[str], str | None]:
    """The registered versions of ``model`` and its champion, as the registry last wrote them
    (pipelines.release.registry.record_versions); none when it never has. A file, not the registry:
    a DAG file parses on every DAG processor loop and must not open a database."""
    from pipelines.config.load import conveyor_home
    from pipelines.release.registry import versions_file

    try:
        listed = json.loads(versions_file(conveyor_home(), model).read_text())
        return [str(v) for v in listed["versions"]], listed.get("champion")
    except (OSError, ValueError, KeyError, TypeError):
        return [], None


def train_params(config: ModelConfig) -> dict[str, Param]:
    """The retrain form: why, whether to tune first (a config with tuning), which
    hyperparameters to change, and whether to force."""
    allowed = ", ".join(config.model.params)
    tune = {} if config.tuning is None else {
        "tune": Param(config.tuning.enabled, type="boolean", title="Tune hyperparameters first",
                      description=f"Run {config.tuning.trials} Optuna trials on a validation split before"
                                  " training, and train with the best parameters when they beat the config's."
                                  " Overrides below still apply over them."),
    }  # fmt: skip
    return {
        "reason": Param("manual", type="string", minLength=1, maxLength=REASON_LIMIT, title="Reason",
                        description="Why you are retraining; recorded in the model version's lineage."),
        "overrides": Param({}, type="object", **overrides_schema(config), title="Hyperparameter overrides",
                           description=f'Changes to the config\'s hyperparameters for this run only, e.g. '
                                       f'{{"epochs": 12}}; the config sets {allowed}.'),
        **tune,
        "force_promote": Param(False, type="boolean", title="Force promotion",
                               description="Promote even if the gates say no. Needs who and why below."),
        # Optional: the form sends an empty field as null, which a plain "string" refuses.
        "requested_by": Param(None, type=["null", "string"], maxLength=NAME_LIMIT, title="Requested by",
                              description="Who forces the promotion (required with force)."),
        "justification": Param(None, type=["null", "string"], maxLength=JUSTIFICATION_LIMIT,
                               title="Justification",
                               description="Why the gates may be overridden (required with force)."),
    }  # fmt: skip


def rollback_params(config: ModelConfig) -> dict[str, Param]:
    """The rollback form: a registered version to make champion again, and why."""
    versions, champion = registered_versions(config.name)
    offered: dict[str, Any] = {"pattern": "^[0-9]+$"}
    if versions:  # a pick list; before the first registration, any version number
        offered |= {"enum": versions, "values_display": {v: f"{v} (champion)" if v == champion else v
                                                         for v in versions}}  # fmt: skip
    return {
        "version": Param(type="string", title="Version", **offered,
                         description="The registered model version to make champion again. The list is "
                                     "the registry's as of the last registration, promotion or rollback."),
        "reason": Param("rollback", type="string", minLength=1, maxLength=REASON_LIMIT, title="Reason",
                        description="Why you are rolling back; kept with the run."),
    }  # fmt: skip
