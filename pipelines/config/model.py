"""What a model is: configs/models/<name>.yaml, one file a model (source, features, model type
and params, split, gates, triggers)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from pipelines.config.base import RANKING_METRICS, ColumnType, Identifier, MetricName, StrictModel
from pipelines.config.params import PARAMS_BY_TYPE
from pipelines.config.tuning import TuningConfig

__all__ = ["RANKING_METRICS", "MetricName", "ModelConfig"]


class SourceConfig(StrictModel):
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


class _FeaturesBase(StrictModel):
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


class RankingConfig(StrictModel):
    """A model whose scores rank the entities sharing a query: evaluated per query."""

    query_key: str = Field(description="The column whose value (with the day) groups a result list.")
    relevant_from: int = Field(default=2, ge=1, description="The lowest grade MRR counts as relevant.")


class ModelSpec(StrictModel):
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


class SplitConfig(StrictModel):
    method: Literal["time"] = "time"
    test_days: int = Field(gt=0)


class GatesConfig(StrictModel):
    mode: Literal["disabled", "dry_run", "enabled"]
    metric: MetricName
    business_threshold: float = Field(
        gt=0, description="First deploy: the metric must be better (below an error, above a ranking score)."
    )
    confidence: float = Field(gt=0, lt=1)
    bootstrap_samples: int = Field(ge=100)
    slice_tolerance: float = Field(ge=0, description="Largest relative regression on a slice.")
    require_approval: bool = False


class ReleaseConfig(StrictModel):
    """How a version that passed its gates meets live traffic: at once (``direct``), on a
    share of the entities (``canary``) or scored beside the champion without answering
    (``shadow``); live results then promote it or roll it back (``conveyor release judge``)."""

    strategy: Literal["direct", "canary", "shadow"] = "direct"
    share: float = Field(
        default=0.2, gt=0, le=1,
        description="canary: the share of entities the candidate answers; shadow: the share it scores.",
    )  # fmt: skip
    min_samples: int = Field(
        default=200,
        ge=1,
        description="Paired live units (rows, or result lists) with actuals before a decision.",
    )
    baking_days: int = Field(default=2, ge=0, description="Target days the candidate must have served first.")
    max_error_rate: float = Field(
        default=0.01, ge=0, le=1, description="Guardrail: the candidate's failed calls."
    )
    max_p99_ms: float = Field(
        default=250.0, gt=0, description="Guardrail: the candidate's p99 scoring latency."
    )


OnBreach = Literal["retrain", "notify"]
ON_BREACH = (
    "retrain: start a training; notify: send the breach to the platform's alert_webhook_url, start nothing"
)


class PerformanceTrigger(StrictModel):
    metric: MetricName
    threshold: float = Field(gt=0, description="Live metric worse than this starts a retrain.")
    window_days: int = Field(gt=0)
    on_breach: OnBreach = Field(default="retrain", description=ON_BREACH)


class DriftTrigger(StrictModel):
    share_threshold: float = Field(gt=0, le=1)
    on_breach: OnBreach = Field(default="retrain", description=ON_BREACH)
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


class TriggersConfig(StrictModel):
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


class CardConfig(StrictModel):
    """What only the model's owners can write for its model card (Mitchell et al. 2019)."""

    intended_use: str = Field(description="Who uses the predictions, for what decision.")
    limitations: str = Field(description="Where the model is known to be wrong or untested.")
    out_of_scope: str = Field(default="", description="Uses it must not be put to.")


class ModelConfig(StrictModel):
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
    release: ReleaseConfig = Field(default_factory=ReleaseConfig)
    tuning: TuningConfig | None = None
    triggers: TriggersConfig
    card: CardConfig | None = None

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
            *([("tuning", self.tuning.metric)] if self.tuning else []),
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
        if self.tuning:
            self._tuning_fits()
        return self

    def _tuning_fits(self) -> None:
        assert self.tuning is not None
        self.tuning.check_against(self.model.type, PARAMS_BY_TYPE[self.model.type])
        metric = self.tuning.metric
        best, better = ("maximize", "higher") if metric in RANKING_METRICS else ("minimize", "lower")
        if self.tuning.direction != best:
            raise ValueError(f"tuning.direction {self.tuning.direction!r} does not fit {metric}: a better"
                             f" {metric} is {better}, so use direction: {best}")  # fmt: skip
