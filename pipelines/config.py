"""Typed configuration: where things live (platform) and what a model is (model).

Platform configs live in ``configs/platform/<env>.yaml`` and are picked by ``CONVEYOR_ENV``
(default ``local``). Model configs live in ``configs/models/<name>.yaml``, one file a model.
A bad file fails here, at load, with the file, the field and what is allowed.
"""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from pipelines.errors import ConfigError
from pipelines.train.params import PARAMS_BY_TYPE

REPO_ROOT = Path(__file__).resolve().parents[1]
ENVIRONMENTS = ("local", "compose", "kubernetes")

Identifier = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
ColumnType = Literal["date", "string", "int", "float"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- platform ---------------------------------------------------------------------------


class OnlineStoreConfig(_Strict):
    type: Literal["sqlite", "redis"]
    path: str | None = None
    connection_string: str | None = None


class FeastConfig(_Strict):
    project: Identifier = "conveyor"
    registry: str = Field(description="Path or SQL URL of Feast's registry.")
    online_store: OnlineStoreConfig


class ServingConfig(_Strict):
    prediction_log_url: str = Field(description="SQLAlchemy URL of the prediction log and actuals.")
    poll_seconds: float = Field(gt=0, description="How often the service checks the champion alias.")
    flush_seconds: float = Field(gt=0, description="Longest a logged prediction waits in memory.")
    max_batch_rows: int = Field(gt=0, description="Most rows one request may score.")
    max_body_bytes: int = Field(gt=0, description="Bodies larger than this are refused unread.")
    api_token: str | None = Field(
        default=None, description="Bearer token /predict requires; none on the embedded default."
    )


class PlatformConfig(_Strict):
    """Where the platform keeps its state in one environment."""

    environment: Literal["local", "compose", "kubernetes"]
    home: Path = Field(description="Root of all embedded state; CONVEYOR_HOME overrides it.")
    lakehouse_uri: str = Field(description="fsspec URI of the lakehouse root.")
    landing_uri: str = Field(description="fsspec URI where new batches land before ingest.")
    mlflow_tracking_uri: str
    mlflow_artifact_uri: str = Field(description="Where new experiments store artifacts.")
    checkpoints_uri: str = Field(description="Training checkpoints, so a retried task resumes.")
    reports_uri: str = Field(description="Gate reports and other human-readable outputs.")
    feast: FeastConfig
    serving: ServingConfig


# --- model ------------------------------------------------------------------------------


class SourceConfig(_Strict):
    """The raw data a model learns from, as its batches arrive."""

    name: Identifier
    format: Literal["csv"] = "csv"
    schema_: dict[str, ColumnType] = Field(alias="schema", min_length=1)
    expectation_suite: str = Field(description="File name in configs/expectations/.")
    max_rows_per_batch: int = Field(gt=0)
    max_report_delay_days: int = Field(
        gt=0, description="How many days after the fact an actual may still arrive."
    )
    start_date: date = Field(description="No row may be dated before this day.")


class _FeaturesBase(_Strict):
    """What every feature set has: when it is computed, where it is served, what the model reads."""

    horizon_days: int = Field(gt=0, description="Features for day d are computed as of d - h.")
    feature_service: Identifier
    numeric: list[str] = Field(min_length=1, description="Numeric features the model reads.")
    categorical: list[str] = Field(default_factory=list, description="Categorical features.")
    text: list[str] = Field(
        default_factory=list, description="Text features, in the order the model reads them."
    )


class LagFeatures(_FeaturesBase):
    """A time series' own history: lags and rolling means of the target, and the calendar."""

    kind: Literal["lags"]
    lags_days: list[int] = Field(min_length=1)
    rolling_mean_days: list[int] = Field(min_length=1)
    holiday_country: str = Field(pattern=r"^[A-Z]{2}$")

    @model_validator(mode="after")
    def _lags_are_knowable(self) -> LagFeatures:
        too_short = [lag for lag in self.lags_days if lag <= self.horizon_days]
        if too_short:
            raise ValueError(
                f"lags_days {too_short} are not longer than horizon_days ({self.horizon_days}):"
                " such a value is never known when the forecast is made; use lags above it"
            )
        if any(w <= 0 for w in self.rolling_mean_days):
            raise ValueError("rolling_mean_days must all be positive")
        return self


class PairStatsFeatures(_FeaturesBase):
    """An entity pair's interaction history (e.g. a query and a document: impressions,
    clicks, dwell) over a trailing window, its latest text, and its item's age."""

    kind: Literal["pair_stats"]
    window_days: int = Field(gt=0, description="The trailing window the statistics cover.")


FeaturesConfig = Annotated[LagFeatures | PairStatsFeatures, Field(discriminator="kind")]


class RankingConfig(_Strict):
    """A model whose scores rank the entities sharing a query: evaluated per query."""

    query_key: str = Field(description="The column whose value (with the day) groups a result list.")
    relevant_from: int = Field(default=2, ge=1, description="The lowest grade MRR counts as relevant.")


class ModelSpec(_Strict):
    type: str
    seed: int = Field(ge=0)
    params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if value not in PARAMS_BY_TYPE:
            known = ", ".join(PARAMS_BY_TYPE)
            raise ValueError(f"unknown model type {value!r}; known types: {known}")
        return value

    @model_validator(mode="after")
    def _params_fit_the_type(self) -> ModelSpec:
        schema = PARAMS_BY_TYPE[self.type]
        try:
            schema(**self.params)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: "
                + (
                    f"unknown parameter; {self.type} takes {', '.join(schema.model_fields)}"
                    if e["type"] == "extra_forbidden"
                    else e["msg"]
                )
                for e in exc.errors()
            )
            raise ValueError(f"params for {self.type}: {problems}") from None
        return self


class SplitConfig(_Strict):
    method: Literal["time"] = "time"
    test_days: int = Field(gt=0)


MetricName = Literal["rmse", "mae", "mape", "ndcg_at_10", "mrr"]
RANKING_METRICS = ("ndcg_at_10", "mrr")


class GatesConfig(_Strict):
    mode: Literal["disabled", "dry_run", "enabled"]
    metric: MetricName
    business_threshold: float = Field(
        gt=0, description="First deploy: the metric must be better (below an error, above a ranking score)."
    )
    confidence: float = Field(gt=0, lt=1)
    bootstrap_samples: int = Field(ge=100)
    slice_tolerance: float = Field(ge=0, description="Largest relative regression on a slice.")
    require_approval: bool = False


class PerformanceTrigger(_Strict):
    metric: MetricName
    threshold: float = Field(gt=0, description="Live metric worse than this starts a retrain.")
    window_days: int = Field(gt=0)


class DriftTrigger(_Strict):
    share_threshold: float = Field(gt=0, le=1)
    method: str = Field(default="psi", description="Evidently's per-column drift method.")
    column_threshold: float = Field(default=0.2, gt=0, description="A column drifted above it.")
    ignore: list[str] = Field(
        default_factory=list, description="Features that change by design (the calendar), not drift."
    )
    text_confidence: float = Field(
        default=0.95, gt=0.5, lt=1,
        description="A text column drifted when Evidently's classifier of unseen against known texts "
        "beats this share of random classifiers.",
    )  # fmt: skip
    min_new_texts: int = Field(
        default=20, ge=1, description="Fewer unseen served texts than this in a window: not enough to judge."
    )


class TriggersConfig(_Strict):
    schedule: str = Field(description="Cron expression of the nightly retrain.")
    monitor_every_minutes: int = Field(gt=0)
    cooldown_minutes: int = Field(ge=0)
    on_new_features: bool = False
    performance: PerformanceTrigger
    drift: DriftTrigger

    @field_validator("schedule")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        from croniter import croniter

        if not croniter.is_valid(value):
            raise ValueError(f"{value!r} is not a cron expression (e.g. '0 2 * * *')")
        return value


class ModelConfig(_Strict):
    """Everything that defines one model; a new model is a new file, not new code."""

    name: Identifier
    description: str
    owner: str
    source: SourceConfig
    entity_keys: list[str] = Field(min_length=1)
    timestamp_column: str
    target: str
    features: FeaturesConfig
    model: ModelSpec
    split: SplitConfig
    ranking: RankingConfig | None = None
    slices: list[str] = Field(default_factory=list)
    gates: GatesConfig
    triggers: TriggersConfig

    @model_validator(mode="after")
    def _columns_exist(self) -> ModelConfig:
        columns = self.source.schema_
        named = {
            "entity_keys": self.entity_keys,
            "timestamp_column": [self.timestamp_column],
            "target": [self.target],
            "slices": self.slices,
        }
        for field, names in named.items():
            missing = [name for name in names if name not in columns]
            if missing:
                raise ValueError(
                    f"{field} names {missing}, which source.schema does not have;"
                    f" its columns are {sorted(columns)}"
                )
        if columns[self.timestamp_column] != "date":
            raise ValueError(f"timestamp_column {self.timestamp_column!r} must have type date")
        if columns[self.target] not in ("int", "float"):
            raise ValueError(f"target {self.target!r} must be numeric (int or float)")
        if self.ranking and self.ranking.query_key not in self.entity_keys:
            raise ValueError(
                f"ranking.query_key {self.ranking.query_key!r} must be one of entity_keys {self.entity_keys}"
            )
        for field, metric in (
            ("gates", self.gates.metric),
            ("triggers.performance", self.triggers.performance.metric),
        ):
            if (metric in RANKING_METRICS) != (self.ranking is not None):
                needs = (
                    "a ranking metric (ndcg_at_10, mrr)"
                    if self.ranking
                    else "an error metric (rmse, mae, mape)"
                )
                raise ValueError(
                    f"{field}.metric {metric!r} does not fit this model: it needs {needs}"
                    + ("" if self.ranking else ", or a ranking section for a ranking metric")
                )
        return self


# --- loading ----------------------------------------------------------------------------


def config_dir() -> Path:
    return Path(os.environ.get("CONVEYOR_CONFIG_DIR", REPO_ROOT / "configs"))


def conveyor_home() -> Path:
    return Path(os.environ.get("CONVEYOR_HOME", REPO_ROOT / ".conveyor")).resolve()


_ENV_REFERENCE = re.compile(r"\$\{(?P<name>[A-Z_][A-Z0-9_]*)(?::-(?P<default>[^}]*))?\}")


def expand_env(value: str, env: dict[str, str], where: str) -> str:
    """Expand ``${VAR}`` and ``${VAR:-default}``; an unset VAR without default is an error."""

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group("name"), match.group("default")
        if name in env:
            return env[name]
        if default is not None:
            return default
        raise ConfigError(
            f"{where}: environment variable {name} is not set; export it or give"
            f" a default as ${{{name}:-value}}"
        )

    return _ENV_REFERENCE.sub(substitute, value)


def _expand_tree(value: Any, env: dict[str, str], where: str) -> Any:
    if isinstance(value, str):
        return expand_env(value, env, where)
    if isinstance(value, dict):
        return {k: _expand_tree(v, env, f"{where}: {k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_expand_tree(v, env, where) for v in value]
    return value


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"{path}: no such config file")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of fields at the top level")
    return data


def _describe(error: ValidationError, model: type[BaseModel]) -> str:
    lines = []
    for item in error.errors():
        shown = [part for part in item["loc"] if part not in _KIND_TAGS]  # features.lags.x -> features.x
        field = ".".join(str(part) for part in shown) or "(top level)"
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = f"unknown field; allowed here: {', '.join(_allowed_fields(model, item['loc']))}"
        elif item["type"] in ("union_tag_not_found", "union_tag_invalid"):
            tags = item.get("ctx", {}).get("expected_tags") or ", ".join(map(repr, sorted(_KIND_TAGS)))
            field, message = f"{field}.kind", f"say which kind of {field} this is: one of {tags}"
            if "tag" in item.get("ctx", {}):
                message += f" (got {item['ctx']['tag']!r})"
        elif "input" in item and item["type"] not in ("missing", "value_error"):
            message = f"{message} (got {item['input']!r})"
        lines.append(f"  - {field}: {message}")
    return "\n".join(lines)


_KIND_TAGS = {"lags", "pair_stats"}  # the tags of features' kinds, which pydantic puts in a loc


def _allowed_fields(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    current: Any = model
    for part in loc[:-1]:
        if part in _KIND_TAGS:
            continue
        field = current.model_fields.get(part) if isinstance(part, str) else None
        if field is None:
            # loc uses aliases; map back
            matches = [f for f in current.model_fields.values() if f.alias == part]
            field = matches[0] if matches else None
        annotation = getattr(field, "annotation", None)
        options = [annotation, *get_args(annotation)]
        if part == "features":  # a discriminated union: the member the loc's tag names
            tag = loc[loc.index(part) + 1]
            options = [o for o in get_args(annotation) if tag in get_args(o.model_fields["kind"].annotation)]
        models = [o for o in options if isinstance(o, type) and issubclass(o, BaseModel)]
        if not models:
            return []
        current = models[0]
    return sorted(f.alias or name for name, f in current.model_fields.items())


def load_platform_config(environment: str | None = None) -> PlatformConfig:
    """Load the platform config of ``environment`` (default: ``CONVEYOR_ENV`` or ``local``)."""
    environment = environment or os.environ.get("CONVEYOR_ENV", "local")
    if environment not in ENVIRONMENTS:
        raise ConfigError(
            f"CONVEYOR_ENV={environment!r} is not an environment; use one of {', '.join(ENVIRONMENTS)}"
        )
    path = config_dir() / "platform" / f"{environment}.yaml"
    env = {**os.environ, "CONVEYOR_HOME": str(conveyor_home())}
    raw = _expand_tree(_read_yaml(path), env, str(path))
    raw.setdefault("home", env["CONVEYOR_HOME"])
    try:
        return PlatformConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{path} is invalid:\n{_describe(exc, PlatformConfig)}") from None


def model_names() -> list[str]:
    return sorted(path.stem for path in (config_dir() / "models").glob("*.yaml"))


def load_model_config(name: str) -> ModelConfig:
    """Load ``configs/models/<name>.yaml``; its ``name`` field must match the file name."""
    path = config_dir() / "models" / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(model_names()) or "none"
        raise ConfigError(f"no model called {name!r}: {path} does not exist; known models: {known}")
    return parse_model_config(_read_yaml(path), path)


def parse_model_config(raw: dict[str, Any], path: Path) -> ModelConfig:
    try:
        config = ModelConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{path} is invalid:\n{_describe(exc, ModelConfig)}") from None
    if config.name != path.stem:
        raise ConfigError(f"{path}: name {config.name!r} must match the file name {path.stem!r}")
    suite = expectation_suite_path(config)
    if not suite.is_file():
        raise ConfigError(
            f"{path}: source.expectation_suite {config.source.expectation_suite!r} not found at {suite}"
        )
    return config


def expectation_suite_path(config: ModelConfig) -> Path:
    return config_dir() / "expectations" / config.source.expectation_suite
